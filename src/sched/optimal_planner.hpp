#pragma once
// A reference plan for small instances (docs/planner.md, "Reference optimum"): flexcp's plan as
// a MILP, solved by CBC under a time limit, to measure the greedy planner against.
//
// Variables: each document either whole on one rank or split over one candidate group; each
// candidate group (a node-aware block of ranks with one executable scheme) used or not; the
// makespan T. Candidate blocks: every contiguous run of >= 2 ranks inside a node, and every run
// of more than a node's ranks starting at a node boundary (the node-aware shapes the greedy
// takes). Rows: every document placed once; used blocks disjoint; every rank's memory; every
// rank's time <= T, where a split document costs each member of its group the slowest member's
// modelled time of that document alone in that group (compute at its slice shape plus the
// communication it leaves exposed). Alone in its group a document hides its transfers behind
// less attention than it would share with others, so the objective over-estimates the plan's
// true modelled time: the planner returns the plan, and the study evaluates it with the full
// cost model like every other plan. All-gather blocks hold no whole documents (its executor).
// A collective group whose communicator is not cached costs one creation round (the same LRU as
// flexcp's planner). flexcp's greedy plan is the search's first incumbent when it maps onto the
// candidates, so under the MILP's objective the result is never worse than the greedy's; under the
// full cost model it can be, so the planner returns the better of the two plans (the solver
// report's `kept` says the MILP's won). The reference is thus the best plan known, not a proven
// optimum of the cost model.
// One micro-batch: instances whose batch needs more are refused.
#include <memory>

#include "sched/milp.hpp"
#include "sched/planner.hpp"

namespace flexcp::sched {

struct OptimalOptions {
  MilpLimits limits{60.0, -1};
  int max_ranks = 64, max_documents = 64;  // beyond these the MILP is not attempted (ConfigError)
};

std::unique_ptr<Planner> make_optimal_planner(const PlannerContext& context, const OptimalOptions& options);

}  // namespace flexcp::sched
