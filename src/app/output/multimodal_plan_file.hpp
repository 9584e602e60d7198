#pragma once
// The results file of `flexcp plan` with [multimodal] (docs/results-schema.md, kind
// "plan-multimodal"): per placement and batch, the step and its components (encoder, boundary,
// LLM) in time and bytes, TFLOPS/GPU and tokens/s; the non-colocated splits the planner tried.
#include <string>

#include "app/input/config.hpp"
#include "app/output/results_file.hpp"
#include "app/plan/multimodal_study.hpp"

namespace flexcp {

void write_multimodal_plan_file(const std::string& path, const MultimodalStudy& study, const RunMetadata& meta,
                                const Config& config);

}  // namespace flexcp
