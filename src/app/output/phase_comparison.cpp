#include "app/output/phase_comparison.hpp"

#include <algorithm>

#include "app/strategies.hpp"

namespace flexcp {
namespace {
double mean_execution_s(const StrategyResult& r) {
  double sum = 0.0;
  for (const auto& s : r.steps) sum += measured_phases(s).step_s;
  return r.steps.empty() ? 0.0 : sum / static_cast<double>(r.steps.size());
}
}  // namespace

double phase_ratio(double measured, double modelled) { return modelled > 0.0 ? measured / modelled : 0.0; }

PhaseTimes measured_phases(const StepRecord& step) {
  PhaseTimes p;
  for (const auto& r : step.ranks) {
    p.compute_s = std::max(p.compute_s, r.compute_s);
    p.step_s = std::max(p.step_s, r.step_s - r.plan_s);
  }
  p.exposed_comm_s = std::max(0.0, p.step_s - p.compute_s);
  return p;
}

PhaseTimes modelled_phases(const StepRecord& step) {
  PhaseTimes p;
  for (double busy : step.modelled.busy_s) p.compute_s = std::max(p.compute_s, busy);
  p.step_s = step.modelled.step_s;
  p.exposed_comm_s = std::max(0.0, p.step_s - p.compute_s);
  return p;
}

PhaseTimes PhaseSummary::ratio() const {
  return {phase_ratio(measured.compute_s, modelled.compute_s), phase_ratio(measured.exposed_comm_s, modelled.exposed_comm_s),
          phase_ratio(measured.step_s, modelled.step_s)};
}

PhaseSummary summarize_phases(const StrategyResult& r) {
  PhaseSummary s;
  const double n = static_cast<double>(std::max<std::size_t>(1, r.steps.size()));
  for (const auto& step : r.steps) {
    const auto m = measured_phases(step), p = modelled_phases(step);
    s.measured.compute_s += m.compute_s / n;
    s.measured.exposed_comm_s += m.exposed_comm_s / n;
    s.measured.step_s += m.step_s / n;
    s.modelled.compute_s += p.compute_s / n;
    s.modelled.exposed_comm_s += p.exposed_comm_s / n;
    s.modelled.step_s += p.step_s / n;
  }
  return s;
}

std::optional<StaticComparison> compare_with_strongest_static(const std::vector<StrategyResult>& results) {
  const StrategyResult *flexcp = nullptr, *strongest = nullptr;
  for (const auto& r : results) {
    if (r.steps.empty()) continue;
    if (r.name == "flexcp") flexcp = &r;
    const auto* row = find_strategy(r.name);
    if (row != nullptr && row->planner == PlannerKind::static_degree &&
        (strongest == nullptr || mean_execution_s(r) < mean_execution_s(*strongest)))
      strongest = &r;
  }
  if (flexcp == nullptr || strongest == nullptr) return std::nullopt;
  const auto f = summarize_phases(*flexcp), b = summarize_phases(*strongest);
  // Speedups: the static strategy's time over flexcp's.
  return StaticComparison{strongest->name, phase_ratio(b.measured.step_s, f.measured.step_s),
                          phase_ratio(b.modelled.step_s, f.modelled.step_s)};
}

void print_phase_comparison(std::FILE* out, const std::vector<StrategyResult>& results,
                            const std::optional<EmulatedNetwork>& emulation) {
  if (results.empty()) return;
  std::fprintf(out, "# Measured vs modelled per phase (ms, means over measured steps; planning excluded).\n");
  if (emulation)
    std::fprintf(out, "# On an emulated cluster: %s dilated x%.0f (%d node(s) x %d rank(s); rank links %.3f MB/s, %.1f ms).\n",
                 emulation->profile.c_str(), emulation->dilation, emulation->nodes, emulation->ranks_per_node,
                 1e3 * emulation->link_gbps, emulation->link_delay_ms);
  std::fprintf(out, "# %-22s %10s %10s %6s | %10s %10s %6s | %10s %10s %6s\n", "strategy", "compute", "model", "ratio",
               "exposed", "model", "ratio", "step", "model", "ratio");
  for (const auto& r : results) {
    const auto s = summarize_phases(r);
    const auto q = s.ratio();
    std::fprintf(out, "  %-22s %10.2f %10.2f %6.2f | %10.2f %10.2f %6.2f | %10.2f %10.2f %6.2f\n", r.name.c_str(),
                 1e3 * s.measured.compute_s, 1e3 * s.modelled.compute_s, q.compute_s, 1e3 * s.measured.exposed_comm_s,
                 1e3 * s.modelled.exposed_comm_s, q.exposed_comm_s, 1e3 * s.measured.step_s, 1e3 * s.modelled.step_s,
                 q.step_s);
  }
  if (auto c = compare_with_strongest_static(results))
    std::fprintf(out, "# flexcp over the strongest static strategy (%s, by measured time): measured %.2fx, modelled %.2fx%s\n",
                 c->strongest_static.c_str(), c->measured_speedup, c->modelled_speedup,
                 emulation ? "" : " (not an emulated cluster: communication costs here are not a cluster's)");
  std::fprintf(out, "#\n");
}

}  // namespace flexcp
