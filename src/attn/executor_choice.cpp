#include "attn/executor_choice.hpp"

#include "attn/all_gather_attention.hpp"
#include "attn/hybrid_attention.hpp"
#include "attn/needed_kv_attention.hpp"
#include "attn/ring_attention.hpp"
#include "attn/ulysses_attention.hpp"
#include "common/error.hpp"
#include "sched/communicator_accounting.hpp"

namespace flexcp::attn {

bool needs_group_collectives(std::size_t ranks, sched::CommScheme scheme) {
  return ranks >= 2 && (scheme == sched::CommScheme::all_gather || scheme == sched::CommScheme::all_to_all ||
                        scheme == sched::CommScheme::hybrid);
}

std::vector<int> collective_members(const sched::GroupProgram& program) {
  if (program.comm == sched::CommScheme::hybrid) return hybrid_block(program);
  return program.members;
}

std::vector<std::vector<std::vector<int>>> collective_rank_sets(const sched::Plan& plan) {
  std::vector<std::vector<std::vector<int>>> sets;
  for (const auto& mb : plan.micro_batches) {
    auto& now = sets.emplace_back();
    for (const auto& g : mb.groups)
      if (needs_group_collectives(g.ranks.size(), g.comm))
        for (auto& set : sched::communicator_sets(g)) now.emplace_back(set.begin(), set.end());
  }
  return sets;
}

std::unique_ptr<GroupAttention> make_group_attention(const sched::GroupProgram& program, const HeadLayout& layout,
                                                     comm::Transport& transport, comm::GroupCollectives* collectives,
                                                     Kernels& kernels, const std::string& strategy) {
  using sched::CommScheme;
  // Alone, or with peers that need nothing from it: the needed-KV executor exchanges exactly that.
  if (program.group_size() == 1 || program.comm == CommScheme::needed_kv)
    return std::make_unique<NeededKvAttention>(transport, kernels, program, layout);
  if (program.comm == CommScheme::ring || program.comm == CommScheme::all_gather)
    for (auto whole : program.member_whole_tokens)
      FLEXCP_CHECK(whole == 0, std::string(sched::to_string(program.comm)) + " groups split every document (plan from '" +
                                   strategy + "')");
  if (needs_group_collectives(program.members.size(), program.comm))
    FLEXCP_CHECK(collectives != nullptr, std::string(sched::to_string(program.comm)) + " group without a communicator");
  switch (program.comm) {
    case CommScheme::ring:
      return std::make_unique<RingAttention>(transport, kernels, program.members, program.shards, layout);
    case CommScheme::all_gather:
      return std::make_unique<AllGatherAttention>(*collectives, kernels, program.shards, program.position, layout);
    case CommScheme::all_to_all:
      return std::make_unique<UlyssesAttention>(*collectives, kernels, program, layout);
    case CommScheme::hybrid:
      return std::make_unique<HybridAttention>(transport, *collectives, kernels, program, layout);
    case CommScheme::needed_kv: break;
    case CommScheme::hierarchical:
      throw ConfigError("plan from '" + strategy + "': no executor for a2a+p2p groups yet (flexcp plan models them)");
  }
  throw Error("unknown communication scheme");
}

}  // namespace flexcp::attn
