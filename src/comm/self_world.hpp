#pragma once
// The World of a job of one rank, without MPI: every collective is the identity. For running a
// whole step on one device where no MPI job is started (the GPU tests).
#include "comm/world.hpp"

namespace flexcp::comm {

class SelfWorld final : public World {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  std::optional<std::string> agree_on_failure(const std::optional<std::string>& local_error) override { return local_error; }
  int max_over_ranks(int value) override { return value; }
  double max_over_ranks(double value) override { return value; }
  bool same_on_every_rank(std::uint64_t /*value*/) override { return true; }
  void broadcast(std::string& /*text*/, int root = 0) override { check_root(root); }
  void broadcast(std::vector<std::int64_t>& /*values*/, int root = 0) override { check_root(root); }
  void broadcast(std::vector<double>& /*values*/, int root = 0) override { check_root(root); }
  std::vector<double> gather_to_root(const std::vector<double>& mine, int root = 0) override;
  std::vector<float> gather_rows_to_root(const float* local, const std::vector<std::int64_t>& rows, std::int64_t row_width,
                                         std::int64_t total_rows, int root = 0) override;
  Topology topology() override;

 private:
  static void check_root(int root);
};

}  // namespace flexcp::comm
