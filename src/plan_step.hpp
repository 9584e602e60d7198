#pragma once
// One training step of one strategy on this rank: plan the batch (every rank runs the same
// deterministic planner, so no plan is broadcast), execute the plan's attention forward and
// backward, measure, model the same plan with the cost model, and optionally check the result
// against the float64 reference.
#include <mpi.h>

#include <cstdint>
#include <optional>

#include "comm/communicator_cache.hpp"
#include "comm/transport.hpp"
#include "config.hpp"
#include "run_strategies.hpp"
#include "sched/batch.hpp"
#include "step_metrics.hpp"

namespace flexcp {

struct StepOutcome {
  RankStepMetrics metrics;
  std::optional<CheckResult> check;  // on every rank when a check was requested
  PlanSummary plan;        // rank 0 only
  ModelledStep modelled;   // rank 0 only
  CacheCounts cache;
};

StepOutcome run_plan_step(const Config& config, RunStrategy& strategy, const sched::PlannerContext& context,
                          comm::Transport& transport, comm::CommunicatorCache& cache, MPI_Comm world,
                          const sched::Batch& batch, std::uint64_t activation_seed, bool check, std::int64_t step_index);

// The plan's shape, for reports.
PlanSummary summarize(const sched::Plan& plan);

}  // namespace flexcp
