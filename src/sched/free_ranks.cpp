#include "sched/free_ranks.hpp"

#include <algorithm>

namespace flexcp::sched {

FreeRanks::FreeRanks(const Cluster& cluster)
    : cluster_(cluster),
      free_(static_cast<std::size_t>(cluster.ranks()), true),
      free_on_node_(static_cast<std::size_t>(cluster.nodes), cluster.ranks_per_node) {}

bool FreeRanks::node_aware(const std::vector<int>& ranks) const {
  const int g = cluster_.ranks_per_node;
  const int size = static_cast<int>(ranks.size());
  int nodes = 0, partial = 0;
  for (std::size_t i = 0; i < ranks.size();) {
    const int node = cluster_.node_of(ranks[i]);
    std::size_t j = i;
    while (j < ranks.size() && cluster_.node_of(ranks[j]) == node) ++j;
    nodes += 1;
    partial += static_cast<int>(j - i) < g ? 1 : 0;
    i = j;
  }
  return nodes == (size + g - 1) / g && partial <= 1;
}

void FreeRanks::claim(const std::vector<int>& ranks) {
  for (int r : ranks) {
    free_[static_cast<std::size_t>(r)] = false;
    free_on_node_[static_cast<std::size_t>(cluster_.node_of(r))] -= 1;
  }
}

std::vector<int> FreeRanks::lowest_free_on(int node, int count) const {
  std::vector<int> out;
  for (int r = node * cluster_.ranks_per_node; r < (node + 1) * cluster_.ranks_per_node && static_cast<int>(out.size()) < count; ++r)
    if (free_[static_cast<std::size_t>(r)]) out.push_back(r);
  return out;
}

std::optional<std::vector<int>> FreeRanks::take(int size, const RankSetHistory& history) {
  for (const auto& set : history.recent(size)) {
    if (std::all_of(set.begin(), set.end(), [&](int r) { return free_[static_cast<std::size_t>(r)]; }) && node_aware(set)) {
      claim(set);
      return set;
    }
  }
  const int g = cluster_.ranks_per_node;
  const int whole_nodes = size / g, remainder = size % g;
  std::vector<int> block;
  std::vector<bool> used(static_cast<std::size_t>(cluster_.nodes), false);
  for (int n = 0; n < cluster_.nodes && static_cast<int>(block.size()) < whole_nodes * g; ++n)
    if (free_on_node_[static_cast<std::size_t>(n)] == g) {
      const auto ranks = lowest_free_on(n, g);
      block.insert(block.end(), ranks.begin(), ranks.end());
      used[static_cast<std::size_t>(n)] = true;
    }
  if (static_cast<int>(block.size()) < whole_nodes * g) return std::nullopt;
  if (remainder > 0) {
    int best = -1;
    for (int n = 0; n < cluster_.nodes; ++n) {
      const int f = free_on_node_[static_cast<std::size_t>(n)];
      if (!used[static_cast<std::size_t>(n)] && f >= remainder && (best < 0 || f < free_on_node_[static_cast<std::size_t>(best)]))
        best = n;
    }
    if (best < 0) return std::nullopt;
    const auto ranks = lowest_free_on(best, remainder);
    block.insert(block.end(), ranks.begin(), ranks.end());
  }
  std::sort(block.begin(), block.end());
  claim(block);
  return block;
}

}  // namespace flexcp::sched
