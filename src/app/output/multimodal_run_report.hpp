#pragma once
// Rank 0's stdout for `flexcp run` on a multimodal input, in the style of the plain run's
// tables: one table per placement (per step: the slowest rank's encoder, boundary and LLM time,
// all ranks' bytes of each, whether they equal the modelled bytes), then the comparison of the
// placements (time per component, tokens/s, ratio over the baseline, check) and one greppable
// line per placement ("flexcp-multimodal key=value ...").
#include <cstdio>
#include <string>
#include <vector>

#include "app/run/multimodal_placement.hpp"

namespace flexcp {

// Per step over the ranks: the slowest rank's seconds and all ranks' bytes of one component.
double component_seconds(const MultimodalStepRecord& step, std::size_t component);
double component_bytes(const MultimodalStepRecord& step, std::size_t component, bool modelled = false);
// Sum of the baseline's step times / sum of this placement's (over the measured steps).
double ratio_over(const MultimodalPlacementResult& baseline, const MultimodalPlacementResult& placement);
double tokens_per_s(const MultimodalPlacementResult& placement);

void print_multimodal_placement_table(std::FILE* out, const MultimodalPlacementResult& result);
void print_multimodal_comparison(std::FILE* out, const std::vector<MultimodalPlacementResult>& results,
                                 const std::string& output_path);

}  // namespace flexcp
