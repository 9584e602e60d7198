#pragma once
// FlexSP's planner (flexsp_planner.cpp): its MILP per micro-batch, solved by CBC under limits,
// with the balanced greedy (flexible_planner.cpp restricted to power-of-two Ulysses groups) as
// the fallback and the start.
#include <memory>
#include <vector>

#include "sched/milp.hpp"
#include "sched/planner.hpp"

namespace flexcp::sched {

struct FlexspOptions {
  // FlexSP solves with a 10 s limit, one batch ahead of training. The node limit is what makes
  // the search deterministic (`flexcp run`: every rank must plan alike); -1 for none.
  MilpLimits limits{0.0, 200};
  int buckets = 16;  // FlexSP's sequence buckets per micro-batch
  // Tests: always the MILP's plan, even where the greedy's is as fast or at a lower bound.
  bool milp_only = false;
};

std::unique_ptr<Planner> make_flexsp_planner(const PlannerContext& context, const FlexspOptions& options);
// FlexSP's group sizes here: the powers of two up to the ranks that split whole heads.
std::vector<int> flexsp_group_sizes(const PlannerContext& context);
// The greedy alone: flexcp's placement restricted to power-of-two groups that split whole heads,
// all-to-all inside them.
std::unique_ptr<Planner> make_flexsp_greedy_planner(const PlannerContext& context);

}  // namespace flexcp::sched
