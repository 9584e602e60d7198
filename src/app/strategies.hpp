#pragma once
// Every strategy flexcp knows, in one table: its name (in inputs, results files and docs), what
// it is, how its plans are made, the communication scheme of its groups, and whether `flexcp run`
// executes it and `flexcp plan` models it. The run and plan commands, their input checks, the
// tests and docs/inputs.md (checked by a unit test) all read this table: a strategy is added here
// or nowhere.
#include <memory>
#include <string>
#include <vector>

#include "sched/plan.hpp"
#include "sched/planner.hpp"
#include "sched/standing_communicators.hpp"
#include "sched/static_layout.hpp"

namespace flexcp {

enum class PlannerKind {
  flexible,       // flexcp: groups of any size per batch (sched::make_flexcp_planner)
  flexsp,         // power-of-two groups per batch (sched::make_flexsp_planner)
  static_degree,  // a fixed degree for every batch (sched::make_static_planner)
  optimal,        // flexcp's plan as a MILP, small instances only (sched::make_optimal_planner)
  lower_bound,    // no plan: the cost model's lower bound (flexcp plan only)
};

struct StrategyInfo {
  std::string name;
  std::string summary;  // one line, for descriptions and docs
  PlannerKind planner;
  sched::CommScheme scheme;  // of its groups (static: of every group; flexsp: of split groups)
  bool runs;   // flexcp run executes it
  bool plans;  // flexcp plan models it (static rows: every configuration of the family, the best
               // on the stream standing for the row; sched/static_layout.hpp)
  sched::StaticFamily family = sched::StaticFamily::megatron;  // static rows
};

const std::vector<StrategyInfo>& strategy_table();
// The row of `name`, or null.
const StrategyInfo* find_strategy(const std::string& name);
// Names of the rows that run (plan), in table order.
std::vector<std::string> runnable_strategies();
std::vector<std::string> plannable_strategies();

// A planner for `info` (not the lower bound); `degree` is used by static strategies only (the
// rows `flexcp run` executes: ring, all-gather, Ulysses).
std::unique_ptr<sched::Planner> make_planner(const StrategyInfo& info, const sched::PlannerContext& context, int degree);

// The communicators a planned strategy makes at start-up (sched/standing_communicators.hpp):
// flexcp's and the optimum's node blocks, FlexSP's aligned blocks; none for the others (a
// static layout's groups are made by its first step and stay cached).
sched::CommunicatorLayers standing_communicators(const StrategyInfo& info, const sched::PlannerContext& context);

}  // namespace flexcp
