#pragma once
// Every rank of the job, as the application sees it: who it is, and the few blocking collectives
// the stages around the data path need (agreeing on failures and plans, sharing the input,
// gathering metrics and results on rank 0). The application talks to the job only through this
// interface and through the data path (comm/data_path.hpp); src/comm is the only code that
// calls MPI or NCCL. MpiWorld implements it over an MPI communicator.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "comm/topology.hpp"

namespace flexcp::comm {

class World {
 public:
  virtual ~World() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual void barrier() = 0;
  // Every rank passes its own error (or none); every rank gets the error of the lowest failing
  // rank, or none when all succeeded. Lets ranks fail together instead of leaving peers waiting.
  virtual std::optional<std::string> agree_on_failure(const std::optional<std::string>& local_error) = 0;
  virtual int max_over_ranks(int value) = 0;
  virtual double max_over_ranks(double value) = 0;
  // True on every rank when every rank passed the same value (one allreduce).
  virtual bool same_on_every_rank(std::uint64_t value) = 0;

  virtual void broadcast(std::string& text, int root = 0) = 0;
  virtual void broadcast(std::vector<std::int64_t>& values, int root = 0) = 0;
  virtual void broadcast(std::vector<double>& values, int root = 0) = 0;
  // Concatenation of every rank's equal-length `mine` in rank order, on `root` only.
  virtual std::vector<double> gather_to_root(const std::vector<double>& mine, int root = 0) = 0;
  // Reassembles a distributed tensor on `root`: rank r holds rows[i] of the global tensor at
  // local row i (each row `row_width` floats). Returns total_rows * row_width floats on root.
  virtual std::vector<float> gather_rows_to_root(const float* local, const std::vector<std::int64_t>& rows,
                                                 std::int64_t row_width, std::int64_t total_rows, int root = 0) = 0;

  // Which node each rank is on (collective; see comm/topology.hpp).
  virtual Topology topology() = 0;
};

}  // namespace flexcp::comm
