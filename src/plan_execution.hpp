#pragma once
// Executes one plan on this rank: compiles the rank's program, then runs every micro-batch in
// order, each with the executor its group's scheme calls for (ring, needed-KV, all-gather,
// all-to-all; a group of one rank computes alone), forward and backward on synthetic
// activations. Group communicators come from the cache, prepared collectively per micro-batch.
#include <cstdint>
#include <vector>

#include "attn/tensor.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/transport.hpp"
#include "sched/plan.hpp"
#include "sched/rank_program.hpp"

namespace flexcp {

struct PlanExecution {
  sched::RankProgram program;
  sched::RankShard step_shard;             // this rank's tokens over all micro-batches, buffer order
  std::vector<float> out, dq, dk, dv;      // results in step_shard order (dk, dv: [tokens][H_kv][d])
  double compile_s = 0.0;                  // wall: compiling the program
  double input_s = 0.0;                    // wall: producing synthetic activations (not part of a step)
  double compute_s = 0.0, busy_s = 0.0;    // inside kernels: wall, thread CPU
  double bytes_sent = 0.0;                 // point-to-point and collective bytes this rank sent
  double comm_wait_s = 0.0;                // wall blocked on communication
  double mask_area = 0.0;                  // visible pairs this rank computed (all heads)
  comm::CacheStats cache;                  // communicator cache use during this plan
};

// Groups that need a cached communicator (collective schemes, >= 2 ranks), per micro-batch.
std::vector<std::vector<std::vector<int>>> communicator_rank_sets(const sched::Plan& plan);

// Where attention runs: the host kernels, or (one rank, groups of one) the CUDA kernels.
struct ExecutionBackend {
  bool cuda = false;
  bool bf16 = false;  // cuda only: Q, K, V, dO stored in bf16 (fp32 accumulation and results)
};

// Collective over every rank of the transport (all ranks call it with the same plan).
PlanExecution execute_plan(const sched::Plan& plan, const attn::HeadLayout& layout, comm::Transport& transport,
                           comm::CommunicatorCache& cache, std::uint64_t activation_seed,
                           const ExecutionBackend& backend = {});

}  // namespace flexcp
