// The MILP wrapper over COIN-OR CBC on problems small enough to know the answer.
#include <gtest/gtest.h>

#include <cmath>

#include "sched/milp.hpp"

using namespace flexcp::sched;

namespace {
// Jobs of the given sizes on two machines, minimise the makespan M: x_j = 1 puts job j on
// machine 1. M >= sum x_j s_j and M >= sum (1 - x_j) s_j.
Milp makespan_model(const std::vector<double>& sizes) {
  Milp milp;
  const int makespan = milp.add_variable(0.0, 1e9, 1.0, false);
  std::vector<int> x;
  for (std::size_t j = 0; j < sizes.size(); ++j) x.push_back(milp.add_variable(0.0, 1.0, 0.0, true));
  double total = 0.0;
  Milp::Terms first{{makespan, 1.0}}, second{{makespan, 1.0}};
  for (std::size_t j = 0; j < sizes.size(); ++j) {
    first.push_back({x[j], -sizes[j]});
    second.push_back({x[j], sizes[j]});
    total += sizes[j];
  }
  milp.add_greater_equal(first, 0.0);
  milp.add_greater_equal(second, total);
  return milp;
}
}  // namespace

TEST(Milp, FindsTheOptimumOfAnEnumerableProblem) {
  const std::vector<double> sizes{7, 5, 4, 3, 3, 2};  // 24 in all: {7, 5} and {4, 3, 3, 2} give 12
  const auto result = makespan_model(sizes).solve({});
  ASSERT_EQ(result.status, MilpStatus::optimal) << to_string(result.status);
  double best = 1e9;  // every one of the 2^6 assignments
  for (unsigned mask = 0; mask < (1u << sizes.size()); ++mask) {
    double a = 0, b = 0;
    for (std::size_t j = 0; j < sizes.size(); ++j) ((mask >> j) & 1u ? a : b) += sizes[j];
    best = std::min(best, std::max(a, b));
  }
  EXPECT_DOUBLE_EQ(best, 12.0);
  EXPECT_NEAR(result.objective, best, 1e-6);
  for (std::size_t j = 1; j < result.values.size(); ++j)
    EXPECT_NEAR(result.values[j], std::round(result.values[j]), 1e-6) << "integer variable " << j;
}

TEST(Milp, ReportsInfeasibility) {
  Milp milp;
  const int x = milp.add_variable(0.0, 1.0, 1.0, true);
  milp.add_greater_equal({{x, 2.0}}, 3.0);  // 2x >= 3 with x in {0, 1}
  EXPECT_EQ(milp.solve({}).status, MilpStatus::infeasible);
}

TEST(Milp, KeepsTheStartSolutionWhenTheSearchMayNotRun) {
  auto milp = makespan_model({7, 5, 4, 3, 3, 2});
  // A poor but feasible start: every job on machine 0 (makespan 24).
  std::vector<double> start{24, 0, 0, 0, 0, 0, 0};
  milp.set_start(start);
  const auto result = milp.solve({0.0, 0});
  ASSERT_TRUE(result.has_solution()) << to_string(result.status);
  EXPECT_LE(result.objective, 24.0 + 1e-6);
  EXPECT_GE(result.objective, 12.0 - 1e-6);
}
