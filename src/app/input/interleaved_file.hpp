#pragma once
// Interleaved text-and-image datasets (inputs/datasets/*.mm.txt): one sample per line, "t N" for
// N text tokens and "i WxH" for an image of W x H pixels, in the sample's order; # comments.
#include <filesystem>
#include <vector>

#include "sched/multimodal_batch.hpp"

namespace flexcp {

// ConfigError as file:line for a bad item (an image without its size is named as such).
std::vector<sched::MultimodalSample> read_interleaved_file(const std::filesystem::path& path);

}  // namespace flexcp
