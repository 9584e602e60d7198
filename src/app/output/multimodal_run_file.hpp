#pragma once
// The results file of `flexcp run` with [multimodal] (docs/results-schema.md, kind
// "run-multimodal"): per executed placement and measured step, the slowest rank's time and all
// ranks' bytes of each component (encoder with projector, boundary, LLM), and per component a
// group of [step][rank] datasets: seconds, bytes sent, modelled bytes; the correctness check of
// the whole chain. Written like every run file: atomically, after every step, never over an
// existing file unless `force`.
#include <filesystem>
#include <vector>

#include "app/input/config.hpp"
#include "app/output/results_file.hpp"
#include "app/run/multimodal_placement.hpp"

namespace flexcp {

void write_multimodal_run_file(const std::filesystem::path& path, const RunMetadata& meta, const Config& config,
                               const std::vector<MultimodalPlacementResult>& results, bool force);

}  // namespace flexcp
