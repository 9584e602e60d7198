#pragma once
// `flexcp plan`'s engine: plans a stream of batches with every requested strategy on a
// simulated machine and evaluates each plan with the cost model. No MPI, no execution.
#include <cstdint>
#include <string>
#include <vector>

#include "app/input/config.hpp"
#include "sched/planner.hpp"

namespace flexcp {

struct ModeledBatch {
  double step_s = 0.0;
  double tokens = 0.0;
  double tflops_per_rank = 0.0;
  double busy_imbalance = 1.0;
  double bytes_sent = 0.0;
  double planning_s = 0.0;
  long long new_rank_sets = 0;
  long long rank_sets = 0;
  long long micro_batches = 0;
  long long groups = 0;
  long long split_documents = 0;
  bool extreme = false;  // an extreme batch of the stream
};

struct ModeledSeries {
  std::string name;
  std::string description;
  int degree = 0;  // static strategies
  std::vector<ModeledBatch> batches;
  double mean_step_s() const;
};

struct PlanStudy {
  sched::Cluster cluster;
  std::int64_t capacity_tokens = 0;
  std::vector<ModeledSeries> series;  // requested strategies, then every ring (all-gather) degree tried
  std::string baseline;               // name of the best ring degree's series, e.g. megatron-cp-ring-c64
  const ModeledSeries* find(const std::string& name) const;
};

PlanStudy run_plan_study(const Config& config);

}  // namespace flexcp
