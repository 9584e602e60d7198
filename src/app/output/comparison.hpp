#pragma once
// Strategies side by side on the same batches: measured wall and per-rank busy time, bytes and
// balance next to what the cost model predicts for the same plans, each as a throughput ratio
// over the run against the baseline (megatron-cp-ring when it ran, else the first strategy):
// the sum of the baseline's step times / the sum of the strategy's, over the steps both ran.
#include <cstdio>
#include <string>
#include <vector>

#include "app/run/step_metrics.hpp"

namespace flexcp {

struct StrategySummary {
  std::string name;
  double step_s = 0.0;        // mean over measured steps of the wall step time
  double busy_max_s = 0.0;    // mean of the busiest rank's kernel CPU time (meaningful when oversubscribed)
  double busy_imbalance = 1.0;
  double bytes = 0.0;         // mean bytes sent per step, all ranks
  double modelled_step_s = 0.0;
  double modelled_busy_max_s = 0.0;
  double modelled_bytes = 0.0;
  double speedup = 1.0, busy_speedup = 1.0, modelled_speedup = 1.0;  // throughput ratios: baseline / this
  double mean_groups = 0.0, mean_split_documents = 0.0;
  std::int64_t cache_hits = 0, cache_misses = 0;
};

// Index of the baseline in `results`.
std::size_t baseline_index(const std::vector<StrategyResult>& results);
std::vector<StrategySummary> summarize(const std::vector<StrategyResult>& results);
void print_comparison(std::FILE* out, const std::vector<StrategyResult>& results);

}  // namespace flexcp
