#pragma once
// Strategies are planners over the same Plan type, judged by the same cost model and executed
// by the same executor, so comparisons are fair.
//   flexcp        any group sizes, node-aware, whole or split per document, needed-KV traffic
//   flexsp        FlexSP-style: power-of-two groups, balanced greedy assignment, Ulysses inside groups
//   megatron-cp   fixed CP degree c (DP = P / c), fixed-length sequences, every document split,
//                 KV ring (or all-gather with CommScheme::all_gather)
//   ulysses       DeepSpeed-Ulysses with a fixed degree, all-to-all head transpose
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "sched/cost_model.hpp"
#include "sched/plan.hpp"

namespace flexcp::sched {

struct PlannerContext {
  CostContext cost;
  std::int64_t capacity_tokens = 1;  // per rank
};

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string name() const = 0;
  // Throws ConfigError naming the document when it cannot fit in any group of the machine.
  virtual Plan plan(const Batch& batch) = 0;
};

std::unique_ptr<Planner> make_flexcp_planner(const PlannerContext& context);
std::unique_ptr<Planner> make_flexsp_planner(const PlannerContext& context);
// `degree` must divide the number of ranks; for all-to-all it must also divide H_q and be a
// multiple or divisor of H_kv (KV heads are replicated when degree > H_kv).
std::unique_ptr<Planner> make_static_planner(const PlannerContext& context, int degree, CommScheme comm);

// Why a static degree cannot run on this machine and model, or "" when it can.
std::string static_degree_problem(const PlannerContext& context, int degree, CommScheme comm);

}  // namespace flexcp::sched
