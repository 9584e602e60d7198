#pragma once
// Executes one plan on this rank: compiles the rank's program, then runs every micro-batch in
// order, each with the executor its group's scheme calls for (attn/executor_choice.hpp), forward
// and backward on synthetic activations, over the given Kernels (host or CUDA) and a transport of
// the same memory space. Group communicators come from the cache, prepared collectively per
// micro-batch.
#include <cstdint>
#include <functional>
#include <vector>

#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "attn/local_tensors.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/transport.hpp"
#include "sched/plan.hpp"
#include "sched/rank_program.hpp"

namespace flexcp {

struct PlanExecution {
  sched::RankProgram program;
  sched::RankShard step_shard;             // this rank's tokens over all micro-batches, buffer order
  attn::HostResults results;               // in step_shard order, on the host
  double compile_s = 0.0;                  // wall: compiling the program
  double io_s = 0.0;                       // wall: making activations and collecting results (not part of a step)
  double compute_s = 0.0, busy_s = 0.0;    // inside kernels: wall, thread CPU (device: both from CUDA events)
  double bytes_sent = 0.0;                 // point-to-point and collective bytes this rank sent
  double comm_wait_s = 0.0;                // wall blocked on communication
  double mask_area = 0.0;                  // visible pairs this rank computed (all heads)
  comm::CacheStats cache;                  // communicator cache use during this plan
};

// Replaces some of a micro-batch's synthetic activations before its forward: a multimodal step
// puts the projector's outputs in the rows of image tokens (app/run/multimodal_step.hpp).
using InputPatch = std::function<void(const sched::RankShard& shard, attn::LocalTensors& tensors)>;

// Collective over every rank of the transport (all ranks call it with the same plan).
PlanExecution execute_plan(const sched::Plan& plan, const attn::HeadLayout& layout, comm::Transport& transport,
                           comm::CommunicatorCache& cache, attn::Kernels& kernels, std::uint64_t activation_seed,
                           const InputPatch& patch_inputs = {});

}  // namespace flexcp
