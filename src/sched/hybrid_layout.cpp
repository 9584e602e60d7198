#include "sched/hybrid_layout.hpp"

#include <algorithm>

#include "sched/static_layout.hpp"

namespace flexcp::sched {
namespace {
// `rank_of(i)`: the world rank of member i (no vector needed for the planner's sizing).
template <typename RankOf>
int largest_inner(int p, const RankOf& rank_of, const Cluster& cluster, const ModelShape& model) {
  if (p < 4 || cluster.node_of(rank_of(0)) == cluster.node_of(rank_of(p - 1))) return 0;
  auto blocks_in_nodes = [&](int inner) {
    for (int first = 0; first < p; first += inner)
      if (cluster.node_of(rank_of(first)) != cluster.node_of(rank_of(first + inner - 1))) return false;
    return true;
  };
  for (int inner = std::min(cluster.ranks_per_node, p / 2); inner >= 2; --inner)
    if (p % inner == 0 && ulysses_heads_problem(model, inner).empty() && blocks_in_nodes(inner)) return inner;
  return 0;
}
}  // namespace

int hybrid_inner(const std::vector<std::int32_t>& ranks, const Cluster& cluster, const ModelShape& model) {
  return largest_inner(static_cast<int>(ranks.size()), [&](int i) { return ranks[static_cast<std::size_t>(i)]; },
                       cluster, model);
}

int hybrid_inner(int size, const Cluster& cluster, const ModelShape& model) {
  if (size > cluster.ranks()) return 0;
  return largest_inner(size, [](int i) { return i; }, cluster, model);
}

}  // namespace flexcp::sched
