#pragma once
// Output of `flexcp plan`: a table of modelled figures per strategy (means over the batch
// stream, speedup against the best megatron-cp-ring degree), greppable summary lines, and the HDF5
// file (schema in docs/results-schema.md, kind "plan").
#include <cstdio>
#include <string>

#include "app/input/config.hpp"
#include "app/plan/plan_study.hpp"
#include "app/output/results_file.hpp"

namespace flexcp {

void print_plan_study(std::FILE* out, const PlanStudy& study, const Config& config);
void write_plan_file(const std::string& path, const PlanStudy& study, const RunMetadata& meta, const Config& config);

// Per-batch speedup of `series` over the baseline, and its mean.
std::vector<double> speedups(const PlanStudy& study, const ModeledSeries& series);

}  // namespace flexcp
