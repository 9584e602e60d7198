#include "sched/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "sched/split_share.hpp"

namespace flexcp::sched {

const char* to_string(CommScheme scheme) {
  switch (scheme) {
    case CommScheme::ring: return "ring";
    case CommScheme::needed_kv: return "needed-kv";
    case CommScheme::all_gather: return "all-gather";
    case CommScheme::all_to_all: return "all-to-all";
    case CommScheme::hierarchical: return "a2a+p2p";
    case CommScheme::hybrid: return "a2a+needed-kv";
  }
  return "?";
}

std::vector<std::int64_t> tokens_per_rank(const Plan& plan, std::size_t mb, int ranks) {
  std::vector<std::int64_t> tokens(static_cast<std::size_t>(ranks), 0);
  for (const auto& group : plan.micro_batches[mb].groups) {
    const int p = static_cast<int>(group.ranks.size());
    for (const auto& d : group.docs) {
      const auto length = plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
      if (d.sharding == Sharding::whole) {
        tokens[static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(d.owner)])] += length;
      } else {
        for (int i = 0; i < p; ++i)
          tokens[static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(i)])] += member_share(length, group, i).tokens;
      }
    }
  }
  return tokens;
}

std::vector<std::string> plan_problems(const Plan& plan, std::int64_t original_tokens, const Cluster& cluster,
                                       std::int64_t capacity_tokens, bool require_node_aware) {
  std::vector<std::string> problems;
  const int ranks = cluster.ranks();
  if (plan.batch.total_tokens() != original_tokens)
    problems.push_back("plan holds " + std::to_string(plan.batch.total_tokens()) + " tokens, the batch " +
                       std::to_string(original_tokens));
  std::vector<int> placed(plan.batch.doc_lengths.size(), 0);
  for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
    std::set<int> used;
    for (const auto& group : plan.micro_batches[mb].groups) {
      if (group.ranks.empty()) problems.push_back("empty group in micro-batch " + std::to_string(mb));
      if (!std::is_sorted(group.ranks.begin(), group.ranks.end())) problems.push_back("group ranks not ascending");
      for (int r : group.ranks) {
        if (r < 0 || r >= ranks) problems.push_back("rank " + std::to_string(r) + " outside the machine");
        if (!used.insert(r).second)
          problems.push_back("rank " + std::to_string(r) + " in two groups of micro-batch " + std::to_string(mb));
      }
      for (const auto& d : group.docs) {
        if (d.doc < 0 || static_cast<std::size_t>(d.doc) >= placed.size()) {
          problems.push_back("document index " + std::to_string(d.doc) + " out of range");
          continue;
        }
        placed[static_cast<std::size_t>(d.doc)] += 1;
        if (d.sharding == Sharding::whole && (d.owner < 0 || d.owner >= static_cast<int>(group.ranks.size())))
          problems.push_back("whole document " + std::to_string(d.doc) + " has no owner in its group");
      }
      if (require_node_aware && !group.ranks.empty()) {
        std::map<int, int> per_node;
        for (int r : group.ranks) per_node[cluster.node_of(r)] += 1;
        const int size = static_cast<int>(group.ranks.size()), g = cluster.ranks_per_node;
        const int fewest_nodes = (size + g - 1) / g;
        int partial = 0;
        for (const auto& [node, count] : per_node) partial += count < g ? 1 : 0;
        if (static_cast<int>(per_node.size()) != fewest_nodes || partial > 1)
          problems.push_back("group of " + std::to_string(size) + " ranks spans " + std::to_string(per_node.size()) +
                             " nodes (" + std::to_string(partial) + " partially); node-aware placement needs " +
                             std::to_string(fewest_nodes));
      }
    }
    const auto tokens = tokens_per_rank(plan, mb, ranks);
    for (int r = 0; r < ranks; ++r)
      if (tokens[static_cast<std::size_t>(r)] > capacity_tokens)
        problems.push_back("rank " + std::to_string(r) + " holds " + std::to_string(tokens[static_cast<std::size_t>(r)]) +
                           " tokens in micro-batch " + std::to_string(mb) + ", capacity " + std::to_string(capacity_tokens));
  }
  for (std::size_t d = 0; d < placed.size(); ++d)
    if (placed[d] != 1)
      problems.push_back("document " + std::to_string(d) + " placed " + std::to_string(placed[d]) + " times");
  return problems;
}

}  // namespace flexcp::sched
