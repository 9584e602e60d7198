// Ranks that plan a batch differently must stop together with an error, before any split or
// stage: one allreduce of the plan digest.
#include <gtest/gtest.h>

#include "app/all_or_none.hpp"
#include "app/run/plan_agreement.hpp"
#include "transports.hpp"

using namespace flexcp;

namespace {
sched::Plan one_group_plan(int ranks, std::int64_t length) {
  sched::Plan plan;
  plan.strategy = "test";
  plan.batch.doc_lengths = {length};
  sched::CpGroup group;
  for (int r = 0; r < ranks; ++r) group.ranks.push_back(r);
  group.docs.push_back({0, sched::Sharding::split, 0});
  plan.micro_batches.push_back({{group}});
  return plan;
}
}  // namespace

TEST(PlanAgreement, IdenticalPlansPass) {
  const auto plan = one_group_plan(test_support::world_size(), 100);
  EXPECT_NO_THROW(require_same_plan(test_support::world(), plan, "test", 0));
}

TEST(PlanAgreement, OneRankWithAnotherPlanStopsEveryRank) {
  if (test_support::world_size() < 2) GTEST_SKIP() << "needs two ranks to disagree";
  // The last rank alone sees a different document length: every rank must throw the same error.
  const bool odd_one = test_support::world_rank() == test_support::world_size() - 1;
  const auto plan = one_group_plan(test_support::world_size(), odd_one ? 101 : 100);
  try {
    require_same_plan(test_support::world(), plan, "test", 7);
    ADD_FAILURE() << "ranks with different plans went on";
  } catch (const AgreedError& e) {
    EXPECT_NE(std::string(e.what()).find("step 7"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), ExitCode::failure);
  }
}
