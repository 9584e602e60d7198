#include "sched/free_ranks.hpp"

#include <algorithm>

namespace flexcp::sched {

FreeRanks::FreeRanks(const Cluster& cluster)
    : cluster_(cluster),
      free_(static_cast<std::size_t>(cluster.ranks()), true),
      free_count_(cluster.ranks()),
      free_on_node_(static_cast<std::size_t>(cluster.nodes), cluster.ranks_per_node),
      nodes_with_free_(static_cast<std::size_t>(cluster.ranks_per_node) + 1) {
  auto& all_free = nodes_with_free_.back();
  for (int n = 0; n < cluster.nodes; ++n) all_free.insert(all_free.end(), n);
}

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
  free_count_ -= static_cast<int>(ranks.size());
  for (int r : ranks) {
    free_[static_cast<std::size_t>(r)] = false;
    const int node = cluster_.node_of(r);
    int& f = free_on_node_[static_cast<std::size_t>(node)];
    nodes_with_free_[static_cast<std::size_t>(f)].erase(node);
    f -= 1;
    nodes_with_free_[static_cast<std::size_t>(f)].insert(node);
  }
}

std::vector<int> FreeRanks::lowest_free_on(int node, int count) const {
  std::vector<int> out;
  for (int r = node * cluster_.ranks_per_node; r < (node + 1) * cluster_.ranks_per_node && static_cast<int>(out.size()) < count; ++r)
    if (free_[static_cast<std::size_t>(r)]) out.push_back(r);
  return out;
}

std::optional<std::vector<int>> FreeRanks::take(int size, const RankSetHistory& history) {
  if (size > free_count_) return std::nullopt;
  for (const auto& set : history.recent(size)) {
    if (std::all_of(set.begin(), set.end(), [&](int r) { return free_[static_cast<std::size_t>(r)]; }) && node_aware(set)) {
      claim(set);
      return set;
    }
  }
  const int g = cluster_.ranks_per_node;
  const int whole_nodes = size / g, remainder = size % g;
  // The lowest-numbered whole free nodes, then the remainder from the node with the fewest free
  // ranks that still has enough (lowest-numbered among equals) and is not among those.
  const auto& whole_free = nodes_with_free_[static_cast<std::size_t>(g)];
  if (static_cast<int>(whole_free.size()) < whole_nodes) return std::nullopt;
  std::vector<int> block;
  block.reserve(static_cast<std::size_t>(size));
  auto node = whole_free.begin();
  for (int k = 0; k < whole_nodes; ++k, ++node)
    for (int r = *node * g; r < (*node + 1) * g; ++r) block.push_back(r);
  if (remainder > 0) {
    int best = -1;
    for (int f = remainder; f <= g && best < 0; ++f) {
      const auto& nodes = nodes_with_free_[static_cast<std::size_t>(f)];
      // Whole free nodes already taken are the first `whole_nodes` of their set.
      auto it = f == g ? node : nodes.begin();
      if (it != nodes.end()) best = *it;
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
