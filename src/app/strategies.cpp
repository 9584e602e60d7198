#include "app/strategies.hpp"

#include "common/error.hpp"

namespace flexcp {

const std::vector<StrategyInfo>& strategy_table() {
  using sched::CommScheme;
  static const std::vector<StrategyInfo> table{
      {"flexcp", "flexible CP: groups of any size per batch, node-aware, whole or split per document, needed-KV exchange",
       PlannerKind::flexible, CommScheme::needed_kv, true, true},
      {"flexsp", "FlexSP-style: power-of-two groups per batch, balanced greedy assignment, Ulysses all-to-all in groups",
       PlannerKind::flexsp, CommScheme::all_to_all, true, true},
      {"megatron-cp-ring",
       "Megatron-LM CP ring: fixed-length sequences, every document zigzag-split, whole KV shards around the ring",
       PlannerKind::static_degree, CommScheme::ring, true, true},
      {"megatron-cp-allgather",
       "Megatron-LM CP all-gather (Llama 3): KV all-gathered, dK/dV reduce-scattered over group communicators",
       PlannerKind::static_degree, CommScheme::all_gather, true, true},
      {"ulysses", "DeepSpeed-Ulysses: all-to-all sequence <-> heads over group communicators", PlannerKind::static_degree,
       CommScheme::all_to_all, true, true},
      {"bound", "lower bound: the batch's FLOPs perfectly balanced, no communication", PlannerKind::lower_bound,
       CommScheme::needed_kv, false, true},
  };
  return table;
}

const StrategyInfo* find_strategy(const std::string& name) {
  for (const auto& row : strategy_table())
    if (row.name == name) return &row;
  return nullptr;
}

std::vector<std::string> runnable_strategies() {
  std::vector<std::string> names;
  for (const auto& row : strategy_table())
    if (row.runs) names.push_back(row.name);
  return names;
}

std::vector<std::string> plannable_strategies() {
  std::vector<std::string> names;
  for (const auto& row : strategy_table())
    if (row.plans) names.push_back(row.name);
  return names;
}

std::unique_ptr<sched::Planner> make_planner(const StrategyInfo& info, const sched::PlannerContext& context, int degree) {
  switch (info.planner) {
    case PlannerKind::flexible: return sched::make_flexcp_planner(context);
    case PlannerKind::flexsp: return sched::make_flexsp_planner(context);
    case PlannerKind::static_degree: return sched::make_static_planner(context, degree, info.scheme);
    case PlannerKind::lower_bound: break;
  }
  throw Error("strategy '" + info.name + "' has no planner (it is a bound)");
}

}  // namespace flexcp
