#pragma once
// Output of `flexcp plan`: a table of modelled figures per strategy, headed by the throughput
// ratio over the run against the best Megatron-LM configuration (the mean of per-batch ratios
// beside it), greppable summary lines, and the HDF5 file (docs/results-schema.md, kind "plan").
#include <cstdio>
#include <string>
#include <vector>

#include "app/input/config.hpp"
#include "app/output/results_file.hpp"
#include "app/plan/plan_study.hpp"

namespace flexcp {

void print_plan_study(std::FILE* out, const PlanStudy& study, const Config& config);
void write_plan_file(const std::string& path, const PlanStudy& study, const RunMetadata& meta, const Config& config);

// Baseline step time / the series' step time, per batch (the secondary figure).
std::vector<double> batch_ratios(const PlanStudy& study, const ModeledSeries& series);
// The headline: sum of the baseline's step times / sum of the series', over the batches where
// `include` is true (all when empty).
double headline_ratio(const PlanStudy& study, const ModeledSeries& series, const std::vector<bool>& include = {});

}  // namespace flexcp
