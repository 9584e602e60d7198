#pragma once
// One training step of one strategy on this rank: plan the batch (every rank runs the same
// deterministic planner, so no plan is broadcast; the ranks agree on it by digest), execute the
// plan's attention forward and backward, measure, model the same plan with the cost model, and
// optionally check the result against the float64 reference.
#include <cstdint>
#include <optional>

#include "app/input/config.hpp"
#include "app/run/run_setup.hpp"
#include "app/run/step_metrics.hpp"
#include "attn/kernels.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/synchronized_start.hpp"
#include "comm/transport.hpp"
#include "comm/world.hpp"
#include "sched/batch.hpp"
#include "sched/communicator_accounting.hpp"

namespace flexcp {

struct StepOutcome {
  RankStepMetrics metrics;
  std::optional<CheckResult> check;  // on every rank when a check was requested
  PlanSummary plan;        // rank 0 only
  ModelledStep modelled;   // rank 0 only
  CacheCounts cache;
};

// What one step runs on: the job, the channels and kernels of the run's backend, and the
// strategy's communicator cache.
struct StepContext {
  comm::World& world;
  comm::Transport& transport;
  comm::CommunicatorCache& cache;
  attn::Kernels& kernels;
  // The model's view of `cache` (same LRU, same capacity): what creating communicators costs.
  sched::CommunicatorAccounting& communicators;
  comm::SynchronizedStart& start;  // every rank starts executing at one instant
};

StepOutcome run_plan_step(const Config& config, RunStrategy& strategy, const sched::PlannerContext& context,
                          const StepContext& on, const sched::Batch& batch, std::uint64_t activation_seed, bool check,
                          std::int64_t step_index);

// The plan's shape, for reports.
PlanSummary summarize(const sched::Plan& plan);

}  // namespace flexcp
