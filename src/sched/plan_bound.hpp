#pragma once
// A lower bound on the step time of every plan of a batch, whatever its strategy (docs/cost-model.md,
// "Lower bound"). Two terms, each a bound under the cost model:
//  - rank-seconds: every rank's busy time plus its collective transfers (never overlapped) add up
//    over the step, so the step is at least their sum over the batch's documents / P, each
//    document at its cheapest option (whole on one rank when memory allows, else split over a
//    group of any size and scheme);
//  - the slowest document: a split document's member can finish neither before its share of the
//    document's compute nor before the document's bytes for it are on the wire (pipelined
//    transfers hide behind attention, at best all of it), plus its collectives; each document
//    at its best group size and scheme, the best placement (inside a node when it fits).
// Both only grow when other documents share the ranks, which is why they bound every plan.
// Splitting is taken never to make a document's compute cheaper (the kernel-rate envelope,
// sched/attention_kernel.hpp), as the compute-only bound does.
#include <cstdint>

#include "sched/cost_model.hpp"

namespace flexcp::sched {

// Group sizes above this are bounded by compute alone (work / size), to keep the bound cheap.
constexpr int kBoundExactSizes = 256;

double lower_bound_with_communication_s(const Batch& batch, const CostContext& context, std::int64_t capacity_tokens);

}  // namespace flexcp::sched
