#pragma once
// Which executor runs a group's attention: the one its communication scheme calls for, over the
// given Kernels, whatever the backend. A group of one rank, or a needed-KV group, runs the
// needed-KV executor (alone it exchanges nothing); ring and all-gather groups split every
// document; all-gather and all-to-all groups use the group's collectives, hybrid groups those of
// the member's block (and the transport across blocks).
#include <memory>
#include <string>
#include <vector>

#include "attn/group_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "comm/group_collectives.hpp"
#include "comm/transport.hpp"
#include "sched/plan.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

// Whether a group of `ranks` ranks with this scheme needs a group communicator.
bool needs_group_collectives(std::size_t ranks, sched::CommScheme scheme);

// The ranks of the communicator this rank's executor uses when needs_group_collectives().
std::vector<int> collective_members(const sched::GroupProgram& program);

// The rank sets that need a group communicator, per micro-batch of `plan`.
std::vector<std::vector<std::vector<int>>> collective_rank_sets(const sched::Plan& plan);

// `collectives`: the communicator of collective_members() when needs_group_collectives(), else
// unused (may be null).
// `strategy` names the plan's strategy in errors.
std::unique_ptr<GroupAttention> make_group_attention(const sched::GroupProgram& program, const HeadLayout& layout,
                                                     comm::Transport& transport, comm::GroupCollectives* collectives,
                                                     Kernels& kernels, const std::string& strategy);

}  // namespace flexcp::attn
