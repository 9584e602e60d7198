#include "app/output/comparison.hpp"

#include <algorithm>
#include <cmath>

#include "sched/throughput.hpp"

namespace flexcp {
namespace {
constexpr double kMiB = 1024.0 * 1024.0;

double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }
double sum_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}
}  // namespace

std::size_t baseline_index(const std::vector<StrategyResult>& results) {
  for (std::size_t i = 0; i < results.size(); ++i)
    if (results[i].name == "megatron-cp-ring") return i;
  return 0;
}

std::vector<StrategySummary> summarize(const std::vector<StrategyResult>& results) {
  std::vector<StrategySummary> out;
  for (const auto& r : results) {
    StrategySummary s;
    s.name = r.name;
    s.busy_imbalance = r.steps.empty() ? 1.0 : 0.0;
    const double n = static_cast<double>(std::max<std::size_t>(1, r.steps.size()));
    for (const auto& step : r.steps) {
      s.step_s += step.step_time() / n;
      s.busy_max_s += step.max_busy() / n;
      s.busy_imbalance += step.busy_imbalance() / n;
      s.bytes += step.total_bytes() / n;
      s.modelled_step_s += step.modelled.step_s / n;
      s.modelled_busy_max_s += max_of(step.modelled.busy_s) / n;
      s.modelled_bytes += sum_of(step.modelled.bytes_sent) / n;
      s.mean_groups += static_cast<double>(step.plan.groups) / n;
      s.mean_split_documents += static_cast<double>(step.plan.split_documents) / n;
      s.cache_hits += step.cache.hits;
      s.cache_misses += step.cache.misses;
    }
    out.push_back(s);
  }
  if (out.empty()) return out;
  // Throughput ratios over the steps both ran (the same batches): sum over sum.
  const auto& base = results[baseline_index(results)];
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto common = std::min(base.steps.size(), results[i].steps.size());
    auto ratio_of = [&](auto get) {
      std::vector<double> b, s;
      for (std::size_t k = 0; k < common; ++k) {
        b.push_back(get(base.steps[k]));
        s.push_back(get(results[i].steps[k]));
      }
      const double r = sched::throughput_ratio(b, s);
      return std::isfinite(r) ? r : 0.0;
    };
    out[i].speedup = ratio_of([](const StepRecord& r) { return r.step_time(); });
    out[i].busy_speedup = ratio_of([](const StepRecord& r) { return r.max_busy(); });
    out[i].modelled_speedup = ratio_of([](const StepRecord& r) { return r.modelled.step_s; });
  }
  return out;
}

void print_comparison(std::FILE* out, const std::vector<StrategyResult>& results) {
  const auto rows = summarize(results);
  if (rows.empty()) return;
  std::fprintf(out, "# Side by side on the same batches (means over measured steps). Ratios: throughput over the run vs %s,\n"
                    "# the sum of its step times / the sum of the strategy's, over the steps both ran.\n",
               rows[baseline_index(results)].name.c_str());
  std::fprintf(out, "# Measured: wall step time, and the busiest rank's kernel CPU time (the figure that\n"
                    "# counts when ranks share cores). Modelled: the cost model on the same plans.\n");
  std::fprintf(out, "# %-22s %9s %7s %9s %7s %6s %9s | %9s %7s %9s | %6s %6s %5s %5s\n", "strategy", "time(ms)", "ratio",
               "busy(ms)", "ratio", "imbal", "sent(MiB)", "model(ms)", "ratio", "sent(MiB)", "groups", "split",
               "hits", "miss");
  for (const auto& s : rows)
    std::fprintf(out, "  %-22s %9.2f %7.2f %9.2f %7.2f %6.3f %9.2f | %9.2f %7.2f %9.2f | %6.1f %6.1f %5lld %5lld\n",
                 s.name.c_str(), 1e3 * s.step_s, s.speedup, 1e3 * s.busy_max_s, s.busy_speedup, s.busy_imbalance,
                 s.bytes / kMiB, 1e3 * s.modelled_step_s, s.modelled_speedup, s.modelled_bytes / kMiB, s.mean_groups,
                 s.mean_split_documents, static_cast<long long>(s.cache_hits), static_cast<long long>(s.cache_misses));
  std::fprintf(out, "#\n");
}

}  // namespace flexcp
