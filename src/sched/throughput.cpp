#include "sched/throughput.hpp"

#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace flexcp::sched {

double throughput_ratio(const std::vector<double>& baseline_s, const std::vector<double>& strategy_s,
                        const std::vector<bool>& include) {
  FLEXCP_CHECK(baseline_s.size() == strategy_s.size() && (include.empty() || include.size() == baseline_s.size()),
               "throughput ratio over series of different lengths");
  double base = 0.0, mine = 0.0;
  bool any = false;
  for (std::size_t i = 0; i < baseline_s.size(); ++i) {
    if (!include.empty() && !include[i]) continue;
    base += baseline_s[i];
    mine += strategy_s[i];
    any = true;
  }
  if (!any || !std::isfinite(base) || !std::isfinite(mine)) return std::numeric_limits<double>::quiet_NaN();
  return mine > 0.0 ? base / mine : std::numeric_limits<double>::infinity();
}

std::vector<double> per_batch_ratios(const std::vector<double>& baseline_s, const std::vector<double>& strategy_s) {
  FLEXCP_CHECK(baseline_s.size() == strategy_s.size(), "per-batch ratios over series of different lengths");
  std::vector<double> out;
  for (std::size_t i = 0; i < baseline_s.size(); ++i) out.push_back(baseline_s[i] / strategy_s[i]);
  return out;
}

}  // namespace flexcp::sched
