#pragma once
// The one correctness harness of flexcp run and of every distributed test: every rank's rows
// of the result are gathered to rank 0, which rebuilds the batch's synthetic inputs, computes
// the float64 reference and compares per document (attn/compare.hpp); every rank receives the
// verdict. Fill (attn/synthetic_inputs) and execute (execute_plan or an executor) are the
// caller's; gathering, reference and comparison are here.
#include <cstdint>

#include "attn/head_layout.hpp"
#include "attn/local_tensors.hpp"
#include "comm/world.hpp"
#include "sched/batch.hpp"
#include "sched/shard.hpp"
#include "app/run/step_metrics.hpp"

namespace flexcp {

// Collective over `world`. `results`: this rank's rows of the distributed result, in the order
// of `shard`. Passes when the worst per-document error is at most `tolerance`.
CheckResult check_against_reference(comm::World& world, const sched::Batch& batch, const attn::HeadLayout& layout,
                                    std::uint64_t activation_seed, const sched::RankShard& shard,
                                    const attn::HostResults& results, double tolerance, std::int64_t step_index);

}  // namespace flexcp
