#include "app/run/plan_step.hpp"

#include "app/all_or_none.hpp"
#include "app/run/plan_agreement.hpp"
#include "attn/flops.hpp"
#include "common/clock.hpp"
#include "app/run/correctness_check.hpp"
#include "app/run/plan_execution.hpp"
#include "sched/cost_model.hpp"

namespace flexcp {

PlanSummary summarize(const sched::Plan& plan) {
  PlanSummary s;
  s.micro_batches = static_cast<std::int64_t>(plan.micro_batches.size());
  s.new_rank_sets = plan.new_rank_sets;
  for (const auto& mb : plan.micro_batches)
    for (const auto& g : mb.groups) {
      ++s.groups;
      s.group_sizes.push_back(static_cast<std::int64_t>(g.ranks.size()));
      for (const auto& d : g.docs) ++(d.sharding == sched::Sharding::split ? s.split_documents : s.whole_documents);
    }
  return s;
}

StepOutcome run_plan_step(const Config& config, RunStrategy& strategy, const sched::PlannerContext& context,
                          const StepContext& on, const sched::Batch& batch, std::uint64_t activation_seed, bool check,
                          std::int64_t step_index) {
  const auto& layout = config.model.heads;
  // Every rank plans the same batch the same way, so a batch that cannot be planned (a document
  // no group can hold) fails everywhere: agree on it and leave with one message. The step is
  // charged this rank's planning time, not the agreement: a training job trusts its planner to be
  // deterministic, and the three world collectives of these checks cost seconds per step on an
  // emulated cluster's dilated latency, the same for every strategy, which buried the differences
  // between them (bench/RESULTS.md, "Where the demo's time went").
  sched::Plan plan;
  double planning_s = 0.0;
  all_or_none(on.world, [&] {
    const WallTimer plan_timer;
    plan = strategy.planner->plan(batch);
    planning_s = plan_timer.seconds();
  });
  require_same_plan(on.world, plan, strategy.name, step_index);

  const WallTimer step_timer(on.start.start());
  auto run = execute_plan(plan, layout, on.transport, on.cache, on.kernels, activation_seed);

  StepOutcome outcome;
  auto& m = outcome.metrics;
  m.plan_s = planning_s + run.compile_s;
  m.comm_wait_s = run.comm_wait_s;
  m.compute_s = run.compute_s;
  m.busy_s = run.busy_s;
  m.step_s = planning_s + step_timer.seconds() - run.io_s;
  m.kv_bytes_sent = run.bytes_sent;
  m.tokens = static_cast<double>(run.step_shard.tokens());
  m.attn_flops = attn::forward_flops(run.mask_area, layout) + attn::backward_flops(run.mask_area, layout);
  m.comm_create_s = run.cache.creation_s;
  outcome.cache = {run.cache.hits, run.cache.misses, run.cache.evictions, run.cache.live};
  if (on.world.rank() == 0) {  // only rank 0 reports: the others would model the same plan for nothing
    outcome.plan = summarize(plan);
    const auto cost = sched::evaluate_plan(plan, context.cost);
    // Measured step time includes creating communicators, so the modelled one does too.
    outcome.modelled.comm_create_s = on.communicators.charge(plan).rounds * context.cost.hardware.communicator_create_s;
    outcome.modelled.step_s = cost.step_time_s + outcome.modelled.comm_create_s;
    for (const auto& r : cost.ranks) {
      outcome.modelled.busy_s.push_back(r.busy_s());
      outcome.modelled.exposed_comm_s.push_back(r.exposed_comm_s);
      outcome.modelled.bytes_sent.push_back(r.bytes_sent);
    }
  }

  if (check)  // against the batch as the strategy executed it (static CP cuts documents at sequence ends)
    outcome.check = check_against_reference(on.world, plan.batch, layout, activation_seed, run.step_shard, run.results,
                                            config.run.check_tolerance, step_index);
  return outcome;
}

}  // namespace flexcp
