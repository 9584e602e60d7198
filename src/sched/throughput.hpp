#pragma once
// The headline of every comparison, as the papers report it (FCP, FlexSP, FlashCP): throughput
// over a run, the sum of the baseline's step times over the sum of the strategy's, on the same
// batches. The mean of per-batch ratios is kept as a secondary figure: it weighs a short batch
// like a long one, so it overstates a strategy that wins mostly on cheap batches.
#include <vector>

namespace flexcp::sched {

// Sum of baseline / sum of strategy over the batches where `include` is true (all when empty);
// NaN when no batch is included, +inf where the strategy's sum is 0, NaN when either sum is not
// finite (a batch the baseline or the strategy cannot run).
double throughput_ratio(const std::vector<double>& baseline_s, const std::vector<double>& strategy_s,
                        const std::vector<bool>& include = {});

// Baseline / strategy per batch.
std::vector<double> per_batch_ratios(const std::vector<double>& baseline_s, const std::vector<double>& strategy_s);

}  // namespace flexcp::sched
