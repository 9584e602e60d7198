#include "comm/self_world.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace flexcp::comm {

void SelfWorld::check_root(int root) {
  FLEXCP_CHECK(root == 0, "a one-rank world has no rank " + std::to_string(root));
}

std::vector<double> SelfWorld::gather_to_root(const std::vector<double>& mine, int root) {
  check_root(root);
  return mine;
}

std::vector<float> SelfWorld::gather_rows_to_root(const float* local, const std::vector<std::int64_t>& rows,
                                                  std::int64_t row_width, std::int64_t total_rows, int root) {
  check_root(root);
  FLEXCP_CHECK(static_cast<std::int64_t>(rows.size()) == total_rows,
               "gathered " + std::to_string(rows.size()) + " rows, expected " + std::to_string(total_rows));
  std::vector<float> out(static_cast<std::size_t>(total_rows * row_width), 0.0f);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    FLEXCP_CHECK(rows[i] >= 0 && rows[i] < total_rows, "gather: row " + std::to_string(rows[i]) + " of " + std::to_string(total_rows));
    std::copy_n(local + static_cast<std::int64_t>(i) * row_width, row_width, out.begin() + rows[i] * row_width);
  }
  return out;
}

Topology SelfWorld::topology() {
  Topology t;
  t.node_of_rank = {0};
  t.local_rank_of_rank = {0};
  t.host_of_rank = {"localhost"};
  return t;
}

}  // namespace flexcp::comm
