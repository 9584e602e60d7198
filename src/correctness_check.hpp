#pragma once
// Compares a distributed attention result with the float64 single-process reference: every
// rank's rows are gathered to rank 0, which recomputes the batch in float64 and measures the
// relative Frobenius error of O, dQ, dK and dV; every rank receives the verdict.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "attn/tensor.hpp"
#include "sched/batch.hpp"
#include "sched/shard.hpp"
#include "step_metrics.hpp"

namespace flexcp {

struct LocalResult {  // this rank's rows of the distributed result
  const sched::RankShard* shard = nullptr;
  const float* out = nullptr;  // [tokens][H_q][d]
  const float* dq = nullptr;   // [tokens][H_q][d]
  const float* dk = nullptr;   // [tokens][H_kv][d]
  const float* dv = nullptr;   // [tokens][H_kv][d]
};

CheckResult check_against_reference(MPI_Comm world, const sched::Batch& batch, const attn::HeadLayout& layout,
                                    std::uint64_t activation_seed, const LocalResult& local, double tolerance,
                                    std::int64_t step_index);

}  // namespace flexcp
