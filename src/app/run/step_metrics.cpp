#include "app/run/step_metrics.hpp"

#include <algorithm>

namespace flexcp {

namespace {
// Max and sum over ranks of one field of their metrics.
double max_over(const std::vector<RankStepMetrics>& ranks, double RankStepMetrics::*field) {
  double m = 0.0;
  for (const auto& r : ranks) m = std::max(m, r.*field);
  return m;
}

double sum_over(const std::vector<RankStepMetrics>& ranks, double RankStepMetrics::*field) {
  double s = 0.0;
  for (const auto& r : ranks) s += r.*field;
  return s;
}
}  // namespace

double StepRecord::step_time() const { return max_over(ranks, &RankStepMetrics::step_s); }
double StepRecord::total_flops() const { return sum_over(ranks, &RankStepMetrics::attn_flops); }
double StepRecord::total_bytes() const { return sum_over(ranks, &RankStepMetrics::kv_bytes_sent); }
double StepRecord::max_busy() const { return max_over(ranks, &RankStepMetrics::busy_s); }
double StepRecord::max_comm_wait() const { return max_over(ranks, &RankStepMetrics::comm_wait_s); }

double StepRecord::busy_imbalance() const {
  const double mean = ranks.empty() ? 0.0 : sum_over(ranks, &RankStepMetrics::busy_s) / static_cast<double>(ranks.size());
  return mean > 0.0 ? max_busy() / mean : 1.0;
}

double CheckResult::worst() const {
  // Per document catches a wrong short document; the whole-tensor errors stay in the verdict too.
  return std::max({worst_document_error, error_out, error_dq, error_dk, error_dv});
}

}  // namespace flexcp
