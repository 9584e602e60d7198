#pragma once
// `flexcp plan`'s engine: plans a stream of batches with every requested strategy on a
// simulated machine and evaluates each plan with the cost model. No MPI, no execution. Static
// baselines are tuned on the stream as a user would: every configuration of each family is
// modelled, and the one with the highest throughput over the whole stream stands for it.
#include <cstdint>
#include <string>
#include <vector>

#include "app/input/config.hpp"
#include "app/memory_budget.hpp"
#include "app/output/progress.hpp"
#include "sched/planner.hpp"

namespace flexcp {

struct ModeledBatch {
  double step_s = 0.0;  // includes communicator creation
  double tokens = 0.0;
  double tflops_per_rank = 0.0;
  double busy_imbalance = 1.0;
  double bytes_sent = 0.0;
  double planning_s = 0.0;
  double communicator_s = 0.0;  // creating communicators not yet made (part of step_s)
  long long communicators_created = 0;
  long long new_rank_sets = 0;
  long long rank_sets = 0;
  long long micro_batches = 0;
  long long groups = 0;
  long long split_documents = 0;
  bool extreme = false;     // an extreme batch of the stream
  bool solver_ran = false;  // an optimising planner (FlexSP's MILP) called its solver
  bool solver_kept = false; // ... and kept its plan
  bool solver_optimal = false;  // ... and proved it optimal (for its own objective)
  double solver_bound_s = 0.0;  // the solver's proven lower bound on its objective (optimal planner)
};

struct ModeledSeries {
  std::string name;
  std::string description;
  int degree = 0;  // static strategies
  std::int64_t capacity_tokens = 0;  // per rank, after the strategy's communicator memory
  std::vector<ModeledBatch> batches;
  double total_step_s() const;  // +inf when a batch cannot run
  std::vector<double> step_times() const;
};

struct PlanStudy {
  sched::Cluster cluster;
  std::int64_t capacity_tokens = 0;  // per rank, before communicator memory
  std::vector<ModeledSeries> series;  // requested strategies, then every static configuration tried
  std::string baseline;  // the best Megatron-LM CP configuration, whose series every ratio is against
  const ModeledSeries* find(const std::string& name) const;
};

// `progress`: a line per batch (stderr), or none.
PlanStudy run_plan_study(const Config& config, Progress* progress = nullptr);

// What run_plan_study will allocate, share by share with its driving key (checked first).
MemoryBudget plan_memory_budget(const Config& config);

}  // namespace flexcp
