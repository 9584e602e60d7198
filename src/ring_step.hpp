#pragma once
// One training step of the megatron-cp-ring strategy on this rank: zigzag-shard the batch over
// all ranks, run ring attention forward and backward on synthetic activations, and measure.
#include <cstdint>
#include <optional>

#include "comm/topology.hpp"
#include "comm/transport.hpp"
#include "config.hpp"
#include "sched/batch.hpp"
#include "step_metrics.hpp"

namespace flexcp {

struct StepOutcome {
  RankStepMetrics metrics;
  std::optional<CheckResult> check;  // on every rank when a check was requested
};

StepOutcome run_ring_step(const Config& config, comm::Transport& transport, MPI_Comm world, const sched::Batch& batch,
                          std::uint64_t activation_seed, bool check, std::int64_t step_index);

}  // namespace flexcp
