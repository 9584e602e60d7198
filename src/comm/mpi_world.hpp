#pragma once
// World over an MPI communicator (MPI_COMM_WORLD in flexcp): the collectives of collectives.hpp
// and topology discovery behind the World interface.
#include <mpi.h>

#include <memory>

#include "comm/world.hpp"

namespace flexcp::comm {

class MpiWorld final : public World {
 public:
  explicit MpiWorld(MPI_Comm comm);  // borrows `comm`
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  // Collective over this world: the ranks that pass `member` = true, in rank order, as a world
  // of their own (which frees its communicator); nullptr on the others.
  std::unique_ptr<MpiWorld> split(bool member);
  MPI_Comm comm() const { return comm_; }  // for what src/comm builds on MPI (transports, NCCL bootstrap)

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void barrier() override;
  std::optional<std::string> agree_on_failure(const std::optional<std::string>& local_error) override;
  int max_over_ranks(int value) override;
  double max_over_ranks(double value) override;
  bool same_on_every_rank(std::uint64_t value) override;
  void broadcast(std::string& text, int root = 0) override;
  void broadcast(std::vector<std::int64_t>& values, int root = 0) override;
  void broadcast(std::vector<double>& values, int root = 0) override;
  std::vector<double> gather_to_root(const std::vector<double>& mine, int root = 0) override;
  std::vector<float> gather_rows_to_root(const float* local, const std::vector<std::int64_t>& rows, std::int64_t row_width,
                                         std::int64_t total_rows, int root = 0) override;
  Topology topology() override;

 private:
  MPI_Comm comm_;
  bool owns_comm_ = false;
  int rank_ = 0, size_ = 1;
};

}  // namespace flexcp::comm
