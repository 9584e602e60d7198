// FlexSP's planner: its MILP against enumeration on a batch small enough to try every plan,
// whole heads only, and the greedy kept where no MILP could beat it.
#include <gtest/gtest.h>

#include <functional>

#include "planner_fixtures.hpp"
#include "sched/flexsp_planner.hpp"

using namespace flexcp;
using namespace flexcp::sched;
using namespace flexcp::sched::fixtures;

namespace {
// Communication free (so the enumeration below is exact).
HardwareProfile free_network() {
  auto h = test_hardware(1e12);
  h.intra_bandwidth = h.inter_bandwidth = h.a2a_intra_bandwidth = 1e30;
  h.a2a_inter_bandwidth.clear();
  h.intra_latency = h.inter_latency = 0.0;
  return h;
}
}  // namespace

TEST(Flexsp, MilpFindsTheOptimumOfEveryPlanOnAnEnumerableBatch) {
  const PlannerContext context{{Cluster{1, 4}, small_model(), free_network()}, 1 << 20};
  // Lengths divisible by 2 x 4 (equal zigzag shares), more than 1% apart (one bucket each).
  const Batch batch{{800, 640, 400, 240, 160, 80}};
  FlexspOptions options;
  options.milp_only = true;
  options.limits = {0.0, -1};
  auto planner = make_flexsp_planner(context, options);
  const auto plan = planner->plan(batch);
  const auto report = planner->last_solver_report();
  ASSERT_TRUE(report.ran);
  EXPECT_EQ(report.status, MilpStatus::optimal);
  ASSERT_EQ(plan.micro_batches.size(), 1u);
  const double planned = evaluate_plan(plan, context.cost).step_time_s;

  // Every FlexSP plan: a multiset of groups of 1, 2 or 4 ranks (at most 4 ranks in all) and every
  // assignment of the documents to them; a group's time is its documents' work over its size.
  std::vector<double> work;
  for (auto l : batch.doc_lengths) work.push_back(single_rank_work_s(l, context.cost));
  double best = 1e300;
  const std::vector<std::vector<int>> layouts{{4}, {2, 2}, {2, 1, 1}, {2, 1}, {2}, {1, 1, 1, 1}, {1, 1, 1}, {1, 1}, {1}};
  for (const auto& sizes : layouts) {
    std::vector<double> load(sizes.size(), 0.0);
    std::function<void(std::size_t)> assign = [&](std::size_t d) {
      if (d == work.size()) {
        double slowest = 0.0;
        for (std::size_t g = 0; g < sizes.size(); ++g) slowest = std::max(slowest, load[g] / sizes[g]);
        best = std::min(best, slowest);
        return;
      }
      for (std::size_t g = 0; g < sizes.size(); ++g) {
        load[g] += work[d];
        assign(d + 1);
        load[g] -= work[d];
      }
    };
    assign(0);
  }
  EXPECT_NEAR(planned, best, 1e-9 * best);
  for (const auto& g : plan.micro_batches[0].groups) {
    const auto size = static_cast<int>(g.ranks.size());
    EXPECT_TRUE(size == 1 || size == 2 || size == 4) << size;
    EXPECT_EQ(g.ranks.front() % size, 0) << "aligned block";
  }
}

TEST(Flexsp, GroupsNeverSplitHeadsFurtherThanTheModelHas) {
  // H_q = 8: no group of 16, so a document that needs 16 ranks' memory cannot be planned.
  const PlannerContext context{{Cluster{2, 8}, small_model(), free_network()}, 100};
  auto planner = make_flexsp_planner(context, FlexspOptions{});
  try {
    planner->plan(Batch{{1500, 10}});
    FAIL() << "a 1,500-token document fit in groups of at most 8 ranks x 100 tokens";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("at most 8 ranks"), std::string::npos) << e.what();
  }
  const auto plan = planner->plan(Batch{{700, 300, 200, 90, 60, 40, 10}});
  for (const auto& mb : plan.micro_batches)
    for (const auto& g : mb.groups) EXPECT_LE(g.ranks.size(), 8u);
}

TEST(Flexsp, NoSolverWhereTheGreedyMeetsALowerBound) {
  // One long document: the greedy gives it the largest group, which no plan can beat.
  const PlannerContext context{{Cluster{1, 8}, small_model(), free_network()}, 1 << 20};
  auto planner = make_flexsp_planner(context, FlexspOptions{});
  planner->plan(Batch{{4000}});
  EXPECT_FALSE(planner->last_solver_report().ran);
  planner->plan(Batch{{800, 640, 400, 240, 160, 80}});
  EXPECT_TRUE(planner->last_solver_report().ran) << "the greedy is not at a bound here";
}
