#pragma once
// Measured against modelled, per phase, for every strategy: compute (the busiest rank's kernel
// wall time), exposed communication (the rest of the step once planning is set aside: what
// communication and waiting added beyond the busiest rank's compute) and the step, each as the
// ratio measured / modelled; then flexcp's throughput over the strongest static strategy,
// measured and modelled for the same plans. On an emulated cluster the dilation is stated.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "app/input/emulation_config.hpp"
#include "app/run/step_metrics.hpp"

namespace flexcp {

struct PhaseTimes {
  double compute_s = 0.0;
  double exposed_comm_s = 0.0;
  double step_s = 0.0;  // planning excluded (a real run plans a batch ahead)
};

// One step's phases as measured (max over ranks of kernel wall time; max over ranks of the step
// without planning, less that) and as the cost model has them for the same plan (max over ranks
// of modelled compute; modelled step less that).
PhaseTimes measured_phases(const StepRecord& step);
PhaseTimes modelled_phases(const StepRecord& step);

// measured / modelled, 0 where the model says 0 (nothing to compare with).
double phase_ratio(double measured, double modelled);

struct PhaseSummary {
  PhaseTimes measured, modelled;  // means over the measured steps
  PhaseTimes ratio() const;       // measured / modelled, 0 where the model says 0
};
PhaseSummary summarize_phases(const StrategyResult& result);

// flexcp against the static strategy (megatron-cp-*, ulysses) with the least measured time:
// step-time ratios static / flexcp, measured and modelled for the same plans. Empty when flexcp
// or every static strategy is missing.
struct StaticComparison {
  std::string strongest_static;
  double measured_speedup = 0.0, modelled_speedup = 0.0;
};
std::optional<StaticComparison> compare_with_strongest_static(const std::vector<StrategyResult>& results);

void print_phase_comparison(std::FILE* out, const std::vector<StrategyResult>& results,
                            const std::optional<EmulatedNetwork>& emulation);

}  // namespace flexcp
