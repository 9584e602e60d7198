#pragma once
// Strategies are planners over the same Plan type, judged by the same cost model and executed
// by the same executor, so comparisons are fair.
//   flexcp        any group sizes, node-aware, whole or split per document, needed-KV traffic
//   flexsp        FlexSP: power-of-two Ulysses groups per batch from its MILP (CBC, time-limited),
//                 the balanced greedy as fallback
//   static        Megatron-LM CP (p2p, all-gather, a2a, a2a+p2p), DeepSpeed-Ulysses and USP at a
//                 fixed degree, one token-balanced sequence per DP replica (static_layout.hpp)
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "sched/cost_model.hpp"
#include "sched/milp.hpp"
#include "sched/plan.hpp"
#include "sched/scheme_choice.hpp"

namespace flexcp::sched {

struct PlannerContext {
  CostContext cost;
  std::int64_t capacity_tokens = 1;  // per rank
  // Static layouts pad split documents as TransformerEngine's THD format requires (2c); on for
  // `flexcp plan`, off for `flexcp run`, whose executors need no padding.
  bool thd_padding = false;
  // Group communicators kept across batches (run.comm_cache_size): a planner that creates them
  // knows which rank sets are still there.
  std::size_t comm_cache_size = 32;
};

// What an optimising planner's solver did for the last batch (FlexSP's MILP), for reports.
struct SolverReport {
  bool ran = false;       // a solver was called for this batch
  bool kept = false;      // its plan was kept (else the fallback's)
  MilpStatus status = MilpStatus::no_solution;  // of the last micro-batch solved
  double seconds = 0.0;   // solver wall time, all micro-batches
  int variables = 0;      // all micro-batches
  // The optimal planner: its MILP's objective (it over-estimates the plan's modelled step) and
  // CBC's proven lower bound on that objective, in seconds.
  double objective_s = 0.0, bound_s = 0.0;
};

class Planner {
 public:
  virtual ~Planner() = default;
  virtual std::string name() const = 0;
  // Throws ConfigError naming the document when it cannot fit in any group of the machine.
  virtual Plan plan(const Batch& batch) = 0;
  virtual SolverReport last_solver_report() const { return {}; }
};

// `schemes`: the collective schemes flexcp may choose per group besides needed-KV (scheme_choice.hpp).
std::unique_ptr<Planner> make_flexcp_planner(const PlannerContext& context, SchemeSet schemes = {});
// FlexSP with its MILP under the default (deterministic) limits: flexsp_planner.hpp.
std::unique_ptr<Planner> make_flexsp_planner(const PlannerContext& context);
// Megatron-LM CP (ring or all-gather) or DeepSpeed-Ulysses (all-to-all) at `degree`, which must
// divide the number of ranks; for all-to-all it must also divide H_q and be a multiple or divisor
// of H_kv (KV heads are replicated when degree > H_kv). Every layout: static_layout.hpp.
std::unique_ptr<Planner> make_static_planner(const PlannerContext& context, int degree, CommScheme comm);

// Why a static degree cannot run on this machine and model, or "" when it can.
std::string static_degree_problem(const PlannerContext& context, int degree, CommScheme comm);

}  // namespace flexcp::sched
