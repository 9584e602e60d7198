#pragma once
// One member's part of one split document under its group's layout: the tokens it holds (its
// zigzag share of the document, THD-padded to the group's multiple) and the causal (query, key)
// pairs whose queries it computes: its own zigzag chunks (ring, needed-KV, all-gather); every
// pair for 1/P of the heads (all-to-all); its ring position's chunks for 1/inner of the heads
// (hierarchical a2a+p2p, hybrid). Shared by the cost model, the traffic model and the plan checks.
#include <cstdint>
#include <vector>

#include "sched/attention_kernel.hpp"
#include "sched/plan.hpp"

namespace flexcp::sched {

struct MemberShare {
  std::int64_t tokens = 0;
  double mask_pairs = 0.0;
  // The slices the member's kernels see: zigzag chunks of slice_length rows against as many keys
  // (mostly fully visible blocks), or the whole causal document for a subset of the heads
  // (all-to-all); what a kernel's rate depends on (sched/attention_kernel.hpp).
  double slice_length = 0.0;
  SliceMask mask = SliceMask::causal;
};

// `length` rounded up to a multiple of `multiple` (>= 1).
std::int64_t padded_length(std::int64_t length, int multiple);

MemberShare member_share(std::int64_t length, const CpGroup& group, int member);

// member_share for every member at once, into `out` (resized to the group's size), with the same
// arithmetic and so the same values: the document's chunk boundaries are computed once (2P + 1
// divisions) rather than eight per member. The cost and traffic models call this per split
// document; the planner's machine-wide candidates made it their hot path.
void member_shares(std::int64_t length, const CpGroup& group, std::vector<MemberShare>& out);

}  // namespace flexcp::sched
