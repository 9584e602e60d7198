// The lower bound holds under every strategy's plans over random batches and topologies, and is
// never below the compute-only bound; the MILP reference plans soundly, and its objective
// over-estimates its plan's modelled time (the claim docs/planner.md makes for it).
#include <gtest/gtest.h>

#include <random>

#include "../random_batch.hpp"
#include "planner_fixtures.hpp"
#include "sched/optimal_planner.hpp"
#include "sched/plan_bound.hpp"
#include "sched/planner.hpp"
#include "sched/static_layout.hpp"

using namespace flexcp;
using namespace flexcp::sched;
using namespace flexcp::sched::fixtures;

TEST(LowerBound, HoldsForEveryStrategyOnRandomBatches) {
  std::mt19937_64 rng(77);
  std::uniform_int_distribution<int> per_node(1, 8), nodes(1, 3);
  int plans = 0, raised = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const Cluster cluster{nodes(rng), per_node(rng)};
    auto hw = test_hardware(1e12);
    hw.communicator_create_s = 0.0;
    if (trial % 3 == 0) {  // communication-bound: the slowest document's bytes outlast its compute
      hw.intra_bandwidth = hw.inter_bandwidth = hw.a2a_intra_bandwidth = 2e7;
      hw.a2a_inter_bandwidth = {{2, 2e7}};
    }
    const std::int64_t capacity = trial % 2 == 0 ? 1 << 20 : 40000;
    PlannerContext context{{cluster, small_model(), hw}, capacity};
    auto batch = test_support::random_batch(rng, 4 + trial % 12, 40000);
    batch.doc_lengths.push_back(50000);  // split under the tighter memory
    if (batch.total_tokens() > capacity * cluster.ranks() / 2) continue;
    const double bound = lower_bound_with_communication_s(batch, context.cost, capacity);
    const double compute_only = lower_bound_step_s(batch, context.cost, capacity);
    EXPECT_GE(bound, compute_only * (1 - 1e-12));
    raised += bound > compute_only * 1.01 ? 1 : 0;
    std::vector<std::unique_ptr<Planner>> planners;
    planners.push_back(make_flexcp_planner(context));
    for (auto family : {StaticFamily::megatron, StaticFamily::ulysses, StaticFamily::usp})
      for (const auto& layout : candidate_layouts(context, family, {})) planners.push_back(make_static_planner(context, layout));
    for (auto& planner : planners) {
      Plan plan;
      try {
        plan = planner->plan(batch);
      } catch (const ConfigError&) {
        continue;  // a static degree that cannot hold the longest document
      }
      plans += 1;
      EXPECT_LE(bound, evaluate_plan(plan, context.cost).step_time_s * (1 + 1e-9))
          << planner->name() << " trial " << trial << " on " << cluster.nodes << "x" << cluster.ranks_per_node;
    }
  }
  EXPECT_GT(plans, 100) << "too few plans checked";
  EXPECT_GT(raised, 0) << "the bound never rose above the compute-only one: its communication part is untested";
}

TEST(OptimalPlanner, PlansSoundlyAndItsObjectiveOverEstimatesItsPlan) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 4; ++trial) {
    const Cluster cluster{2, 2 + trial % 2};
    auto hw = test_hardware(1e12);
    if (trial % 2 == 0) hw.intra_bandwidth = hw.inter_bandwidth = 2e9;
    const PlannerContext context{{cluster, small_model(), hw}, 1 << 20};
    auto batch = test_support::random_batch(rng, 6, 30000);
    batch.doc_lengths.push_back(60000);
    auto optimal = make_optimal_planner(context, {{10.0, -1}, 64, 64});
    const auto plan = optimal->plan(batch);
    EXPECT_TRUE(plan_problems(plan, batch.total_tokens(), cluster, 1 << 20, true).empty()) << "trial " << trial;
    const auto report = optimal->last_solver_report();
    ASSERT_TRUE(report.ran);
    const double modelled = evaluate_plan(plan, context.cost).step_time_s;
    // Never worse than the greedy; and its own plan, when kept, is over-estimated by its objective.
    EXPECT_LE(modelled, evaluate_plan(make_flexcp_planner(context)->plan(batch), context.cost).step_time_s * (1 + 1e-12));
    if (report.kept) {
      EXPECT_LE(modelled, report.objective_s * (1 + 1e-6)) << "trial " << trial;
    }
    EXPECT_LE(report.bound_s, report.objective_s * (1 + 1e-6));
    EXPECT_GE(modelled * (1 + 1e-9), lower_bound_with_communication_s(batch, context.cost, 1 << 20));
  }
}

TEST(OptimalPlanner, RefusesLargeInstancesByName) {
  const PlannerContext context{{Cluster{9, 8}, small_model(), test_hardware(1e12)}, 1 << 20};
  auto optimal = make_optimal_planner(context, {});
  try {
    optimal->plan(Batch{{100, 200}});
    FAIL() << "72 ranks accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("72 ranks"), std::string::npos) << e.what();
  }
}
