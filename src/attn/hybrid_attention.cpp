#include "attn/hybrid_attention.hpp"

#include "attn/head_sequence.hpp"
#include "attn/needed_kv_attention.hpp"
#include "common/error.hpp"

namespace flexcp::attn {
namespace {
// Members [first, first + count) of `program`, as a group of their own.
sched::GroupProgram sub_program(const sched::GroupProgram& program, int first, int count) {
  sched::GroupProgram block;
  block.comm = sched::CommScheme::all_to_all;
  for (int j = first; j < first + count; ++j) {
    const auto i = static_cast<std::size_t>(j);
    block.members.push_back(program.members[i]);
    block.shards.push_back(program.shards[i]);
    block.member_whole_tokens.push_back(program.member_whole_tokens[i]);
  }
  block.position = program.position - first;
  return block;
}
}  // namespace

std::vector<int> hybrid_block(const sched::GroupProgram& program) {
  const int first = program.position / program.inner * program.inner;
  return {program.members.begin() + first, program.members.begin() + first + program.inner};
}

HybridAttention::HybridAttention(comm::Transport& transport, comm::GroupCollectives& block, Kernels& kernels,
                                 const sched::GroupProgram& program, const HeadLayout& layout) {
  const int p = program.group_size(), inner = program.inner;
  FLEXCP_CHECK(inner >= 2 && p % inner == 0 && p / inner >= 2,
               "a hybrid group of " + std::to_string(p) + " ranks needs >= 2 blocks of >= 2 members, not blocks of " +
                   std::to_string(inner));
  const int k = program.position % inner;
  // Across: position k of every block, each holding its block's sequence (in head layout).
  for (int b = 0; b < p / inner; ++b) {
    across_.members.push_back(program.members[static_cast<std::size_t>(b * inner + k)]);
    across_.shards.push_back(head_sequence(program.shards, program.member_whole_tokens, b * inner, inner).shard);
    across_.member_whole_tokens.push_back(0);
  }
  across_.position = program.position / inner;
  sched::add_needed_kv(across_);
  const auto heads = head_shard_layout(layout, inner);
  auto needed_kv = std::make_unique<NeededKvAttention>(transport, kernels, across_, heads);
  const auto mine = sub_program(program, program.position / inner * inner, inner);
  ulysses_ = std::make_unique<UlyssesAttention>(block, kernels, mine, layout, std::move(needed_kv));
}

}  // namespace flexcp::attn
