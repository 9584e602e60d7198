#pragma once
// What splitting one document over a group of `size` ranks costs, in O(1): the planner's sizing
// rule. Its greedy used to charge a split member work / size (the document's single-rank work
// perfectly divided); under a kernel table a zigzag chunk of a few dozen tokens runs at a few
// percent of a long slice's rate (sched/attention_kernel.hpp), and the transfers add more, so
// groups came out far too large. This estimate follows the cost model for an average member
// (docs/cost-model.md): compute at the slice shape the scheme gives (needed-KV: zigzag chunks of
// L / 2P fully visible; all-to-all: the whole causal document for 1/P of the heads), the
// needed-KV exchange's average bytes (3 L (P-1) / 4P KV tokens per member each way) pipelined
// behind that attention, the all-to-all's bytes not overlapped. The plan itself is still judged
// by the full cost model.
#include <cstdint>

#include "sched/cost_model.hpp"

namespace flexcp::sched {

// Seconds an average member of a group of `size` ranks (inside one node when it fits) spends
// on a document of `length` tokens alone, under `scheme` (needed_kv, all_to_all, or hybrid for
// sizes where hybrid_inner() finds blocks).
// `hybrid_block`: the hybrid's block size when the caller knows it (0: hybrid_inner()).
double split_time_estimate(std::int64_t length, int size, CommScheme scheme, const CostContext& context,
                           int hybrid_block = 0);
// The fastest of needed-KV, all-to-all (when `all_to_all`) and the hybrid (when `hybrid_block`
// > 0) at one size, in one call (the planner asks this per candidate group).
double fastest_split_estimate(std::int64_t length, int size, bool all_to_all, int hybrid_block, const CostContext& context);

}  // namespace flexcp::sched
