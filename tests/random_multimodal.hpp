#pragma once
// Random interleaved samples for multimodal property tests: 1 to `max_segments` segments per
// sample, each an image (one in `image_one_in`) of random width and height, or a text run.
#include <cstdint>
#include <random>
#include <vector>

#include "sched/multimodal_batch.hpp"

namespace flexcp::test_support {

struct RandomSampleShape {
  int count = 12;
  int max_segments = 4;
  int image_one_in = 2;
  std::int64_t max_text_tokens = 200;
  std::int64_t min_side = 30, max_side = 400;  // pixels
};

inline std::vector<sched::MultimodalSample> random_multimodal_samples(std::mt19937_64& rng, const RandomSampleShape& shape) {
  std::uniform_int_distribution<int> segments(1, shape.max_segments), kind(0, shape.image_one_in - 1);
  std::uniform_int_distribution<std::int64_t> text(1, shape.max_text_tokens), side(shape.min_side, shape.max_side);
  std::vector<sched::MultimodalSample> out(static_cast<std::size_t>(shape.count));
  for (auto& s : out)
    for (int i = segments(rng); i > 0; --i) {
      if (kind(rng) == 0) s.segments.push_back({0, {side(rng), side(rng)}});
      else s.segments.push_back({text(rng), {}});
    }
  return out;
}

}  // namespace flexcp::test_support
