#include "app/strategies.hpp"

#include "common/error.hpp"
#include "sched/flexsp_planner.hpp"
#include "sched/optimal_planner.hpp"

namespace flexcp {

const std::vector<StrategyInfo>& strategy_table() {
  using sched::CommScheme;
  static const std::vector<StrategyInfo> table{
      {"flexcp",
       "flexible CP: groups of any size per batch, node-aware, whole or split per document, each group's scheme "
       "(needed-KV, all-gather, Ulysses) chosen from the cost model",
       PlannerKind::flexible, CommScheme::needed_kv, true, true},
      {"optimal",
       "reference: flexcp's plan as a MILP (CBC, time-limited; <= 64 ranks and documents, one micro-batch) over "
       "node-aware blocks and schemes",
       PlannerKind::optimal, CommScheme::needed_kv, false, true},
      {"flexsp",
       "FlexSP: its MILP per micro-batch (CBC, time-limited) over power-of-two Ulysses groups splitting whole heads, "
       "the balanced greedy as fallback",
       PlannerKind::flexsp, CommScheme::all_to_all, true, true},
      {"megatron-cp-ring",
       "Megatron-LM CP p2p: one token-balanced sequence per DP replica, every document zigzag-split, KV shards around "
       "the ring",
       PlannerKind::static_degree, CommScheme::ring, true, true},
      {"megatron-cp-allgather",
       "Megatron-LM CP all-gather (Llama 3): KV all-gathered, dK/dV reduce-scattered over group communicators",
       PlannerKind::static_degree, CommScheme::all_gather, true, true},
      {"megatron-cp-a2a", "Megatron-LM CP a2a (TransformerEngine): all-to-all sequence <-> heads, heads split c ways",
       PlannerKind::static_degree, CommScheme::all_to_all, false, true},
      {"megatron-cp-a2a+p2p",
       "Megatron-LM CP a2a+p2p (hierarchical_context_parallel_sizes): all-to-all inside the node, KV ring across nodes",
       PlannerKind::static_degree, CommScheme::hierarchical, false, true},
      {"ulysses", "DeepSpeed-Ulysses: all-to-all sequence <-> heads over group communicators", PlannerKind::static_degree,
       CommScheme::all_to_all, true, true, sched::StaticFamily::ulysses},
      {"usp", "USP (long-context-attention): Ulysses inside the node x KV ring across", PlannerKind::static_degree,
       CommScheme::hierarchical, false, true, sched::StaticFamily::usp},
      {"bound",
       "lower bound: the work balanced over every rank, and the slowest document on its best group with the "
       "communication it cannot avoid",
       PlannerKind::lower_bound,
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
    case PlannerKind::optimal: return sched::make_optimal_planner(context, {});
    case PlannerKind::lower_bound: break;
  }
  throw Error("strategy '" + info.name + "' has no planner (it is a bound)");
}

sched::CommunicatorLayers standing_communicators(const StrategyInfo& info, const sched::PlannerContext& context) {
  switch (info.planner) {
    case PlannerKind::flexible:
    case PlannerKind::optimal: return sched::flexcp_standing_communicators(context.cost);
    case PlannerKind::flexsp:
      return sched::aligned_block_layers(sched::flexsp_group_sizes(context), context.cost.cluster.ranks());
    case PlannerKind::static_degree:
    case PlannerKind::lower_bound: break;
  }
  return {};
}

}  // namespace flexcp
