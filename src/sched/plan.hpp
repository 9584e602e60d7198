#pragma once
// A Plan: how one batch is laid out over the machine. Micro-batches run one after another; in
// each, disjoint CP groups of any size run side by side; each document of the batch sits in
// exactly one group, either whole on one member or split zigzag over all members.
#include <cstdint>
#include <string>
#include <vector>

#include "sched/batch.hpp"
#include "sched/cluster.hpp"

namespace flexcp::sched {

enum class Sharding : std::uint8_t { whole, split };

// How a group moves data for its split documents.
enum class CommScheme : std::uint8_t {
  ring,        // Megatron/TE: every KV shard passes every member (P-1 steps), dK/dV back the same way
  needed_kv,   // sharding-aware: each member receives only the KV its queries need, and returns its dK/dV
  all_gather,  // Llama-3 style: all-gather KV before attention, reduce-scatter dK/dV after
  all_to_all,  // Ulysses: all-to-all sequence <-> heads before and after attention
  // Megatron-LM/TransformerEngine's a2a+p2p (and USP's Ulysses x ring): all-to-all over heads
  // inside each block of `CpGroup::inner` consecutive members, then a KV ring across the blocks
  // (member i is in block i / inner at ring position i / inner). Modelled; no executor yet.
  hierarchical,
  // flexcp's 2D scheme for groups spanning nodes: Ulysses all-to-all over heads inside each
  // block of `CpGroup::inner` consecutive members (one node's members), then needed-KV across
  // the blocks among the members holding the same head shard (sched/hybrid_layout.hpp).
  hybrid,
};
const char* to_string(CommScheme scheme);

struct DocAssignment {
  std::int32_t doc = 0;       // index into Plan::batch
  Sharding sharding = Sharding::whole;
  std::int32_t owner = 0;     // whole documents: index of the member that holds it
};

struct CpGroup {
  std::vector<std::int32_t> ranks;  // ascending
  std::vector<DocAssignment> docs;
  CommScheme comm = CommScheme::ring;
  int inner = 1;         // hierarchical, hybrid: members per all-to-all block (divides the group size)
  // THD layout (TransformerEngine): every split document is padded at its end to a multiple of
  // this (2P for Megatron-LM's zigzag), so each member holds exactly L_padded / P tokens. The
  // padding costs memory, linear-layer time and bytes, never attention (it is masked out).
  int pad_multiple = 1;
};

struct MicroBatch {
  std::vector<CpGroup> groups;
};

struct Plan {
  std::string strategy;
  // The documents as the strategy executes them: the batch itself, or (static CP) the batch's
  // token stream cut into fixed-length sequences, which cuts documents at sequence boundaries.
  Batch batch;
  std::vector<MicroBatch> micro_batches;
  int new_rank_sets = 0;   // groups of >= 2 ranks whose rank set was not used in recent batches
  int rank_sets_used = 0;  // distinct groups of >= 2 ranks in this plan
};

// Tokens each rank holds in micro-batch `mb` (whole documents plus zigzag shares).
std::vector<std::int64_t> tokens_per_rank(const Plan& plan, std::size_t mb, int ranks);

// Every violated invariant, in words; empty when the plan is sound: every token placed once,
// groups disjoint and inside the machine, memory respected, node-aware placement (a group that
// fits in a node lies in one node; a larger one spans the fewest nodes, at most one partially).
std::vector<std::string> plan_problems(const Plan& plan, std::int64_t original_tokens, const Cluster& cluster,
                                       std::int64_t capacity_tokens, bool require_node_aware);

}  // namespace flexcp::sched
