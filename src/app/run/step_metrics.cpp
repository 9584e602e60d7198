#include "app/run/step_metrics.hpp"

#include <algorithm>

namespace flexcp {

double StepRecord::step_time() const {
  double t = 0.0;
  for (const auto& r : ranks) t = std::max(t, r.step_s);
  return t;
}

double StepRecord::total_flops() const {
  double f = 0.0;
  for (const auto& r : ranks) f += r.attn_flops;
  return f;
}

double StepRecord::total_bytes() const {
  double b = 0.0;
  for (const auto& r : ranks) b += r.kv_bytes_sent;
  return b;
}

double StepRecord::max_busy() const {
  double m = 0.0;
  for (const auto& r : ranks) m = std::max(m, r.busy_s);
  return m;
}

double StepRecord::busy_imbalance() const {
  double sum = 0.0;
  for (const auto& r : ranks) sum += r.busy_s;
  const double mean = ranks.empty() ? 0.0 : sum / static_cast<double>(ranks.size());
  return mean > 0.0 ? max_busy() / mean : 1.0;
}

double StepRecord::max_comm_wait() const {
  double m = 0.0;
  for (const auto& r : ranks) m = std::max(m, r.comm_wait_s);
  return m;
}

double CheckResult::worst() const {
  // Per document catches a wrong short document; the whole-tensor errors stay in the verdict too.
  return std::max({worst_document_error, error_out, error_dq, error_dk, error_dv});
}

}  // namespace flexcp
