#include "sched/standing_communicators.hpp"

#include "sched/static_layout.hpp"

namespace flexcp::sched {

CommunicatorLayers aligned_block_layers(const std::vector<int>& sizes, int ranks) {
  CommunicatorLayers layers;
  for (int s : sizes) {
    if (s < 2 || s > ranks) continue;
    auto& layer = layers.emplace_back();
    for (int first = 0; first + s <= ranks; first += s) {
      RankSet block(static_cast<std::size_t>(s));
      for (int i = 0; i < s; ++i) block[static_cast<std::size_t>(i)] = first + i;
      layer.push_back(std::move(block));
    }
  }
  return layers;
}

std::vector<int> node_block_sizes(const Cluster& cluster, const ModelShape& model) {
  std::vector<int> sizes;
  for (int s = 2; s <= cluster.ranks_per_node; ++s)
    if (cluster.ranks_per_node % s == 0 && ulysses_heads_problem(model, s).empty()) sizes.push_back(s);
  return sizes;
}

CommunicatorLayers flexcp_standing_communicators(const CostContext& context) {
  return aligned_block_layers(node_block_sizes(context.cluster, context.model), context.cluster.ranks());
}

std::vector<RankSet> rank_sets_of(const CommunicatorLayers& layers) {
  std::vector<RankSet> sets;
  for (const auto& layer : layers) sets.insert(sets.end(), layer.begin(), layer.end());
  return sets;
}

}  // namespace flexcp::sched
