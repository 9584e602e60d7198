// A split document that no group of up to its balanced size g0 (its single-rank work over the
// balanced share, rounded up) finishes within the balanced share is the micro-batch's critical
// path at every such size. flexcp then also weighs larger groups (whole-node hybrid groups above
// all) against the rest of the work on the ranks left. The case that showed it: LLaMA-3-8B on
// 64 H100s, a 131,072-token batch of debian-copyright (2K tokens per GPU), where its 22,392-token
// document went to 13 ranks with needed-KV across two nodes, 0.42 s, while the rest of the
// batch finished by 0.31 s; on two whole nodes with the hybrid it takes far less.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "app/input/config.hpp"
#include "sched/cost_model.hpp"
#include "sched/planner.hpp"
#include "sched/scheme_choice.hpp"

using namespace flexcp;
using namespace flexcp::sched;

namespace {
// The fastest `length` can be on a group of `size` ranks (the lowest ones: whole nodes, then
// part of one more, as the placement takes them), alone, under any scheme flexcp run executes.
double alone_on(std::int64_t length, int size, const CostContext& cost) {
  Plan plan;
  plan.batch = Batch{{length}};
  CpGroup group;
  group.ranks.resize(static_cast<std::size_t>(size));
  std::iota(group.ranks.begin(), group.ranks.end(), 0);
  group.docs.push_back({0, Sharding::split, 0});
  double best = std::numeric_limits<double>::infinity();
  int inner = 1;
  for (auto scheme : executable_schemes(group, cost.cluster, cost.model, SchemeSet{}, &inner)) {
    group.comm = scheme;
    group.inner = inner;
    best = std::min(best, group_time_s(plan, group, cost));
  }
  return best;
}
}  // namespace

TEST(CriticalDocument, FinishesSoonerThanOnAnyBalancedSizeGroup) {
  const std::filesystem::path input = std::filesystem::path(FLEXCP_SOURCE_DIR) / "inputs" / "plan-llama3-8b.toml";
  auto root = parse_toml_file(input, "input");
  resolve_includes(root, input.parent_path(), input.string());
  const auto config = config_from_table(root, input.string(), input.parent_path(), false, 1);
  ASSERT_EQ(config.cluster.ranks(), 64);
  const CostContext cost{config.cluster, config.model.shape, config.hardware};
  const PlannerContext context{cost, capacity_tokens(cost.model, cost.hardware, cost.cluster.ranks()), true};
  // Batch 1 of `flexcp plan inputs/plan-llama3-8b.toml --set batch.dataset=datasets/debian-copyright.txt
  // --set batch.tokens_per_batch=131072`.
  const Batch batch{{26345, 22392, 9670, 6576, 6247, 4995, 4607, 4470, 4312, 4286, 3838, 3270, 3270,
                     3253,  3218,  3218, 2442, 2214, 2091, 1425, 1269, 1132, 847,  741,  735,  481,
                     413,   407,   407,  407,  380,  349,  335,  304,  259,  252,  215}};
  ASSERT_EQ(batch.total_tokens(), 131072);
  double total = 0.0;
  for (auto l : batch.doc_lengths) total += single_rank_work_s(l, cost);
  const double target = total / cost.cluster.ranks();
  const int g0 = static_cast<int>(std::ceil(single_rank_work_s(22392, cost) / target - 1e-9));
  double best_balanced = std::numeric_limits<double>::infinity();
  for (int size = 2; size <= g0; ++size) best_balanced = std::min(best_balanced, alone_on(22392, size, cost));
  ASSERT_GT(best_balanced, target) << "the document is critical at every size up to g0 = " << g0;
  const auto plan = make_flexcp_planner(context)->plan(batch);
  EXPECT_LT(evaluate_plan(plan, cost).step_time_s, best_balanced) << "g0 = " << g0;
}
