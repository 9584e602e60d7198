#include "sched/multimodal_batch.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp::sched {

std::int64_t MultimodalBatch::image_llm_tokens() const {
  std::int64_t n = 0;
  for (const auto& image : images) n += image.encoded.llm_tokens();
  return n;
}

std::int64_t MultimodalBatch::encoder_patches() const {
  std::int64_t n = 0;
  for (const auto& image : images) n += image.encoded.patches();
  return n;
}

MultimodalSampler::MultimodalSampler(const std::vector<MultimodalSample>& samples, const ImagePolicy& policy,
                                     std::int64_t tokens_per_batch, std::uint64_t seed)
    : tokens_per_batch_(tokens_per_batch), seed_(seed) {
  FLEXCP_CHECK(tokens_per_batch >= 1, "tokens_per_batch must be positive");
  std::size_t image_count = 0;
  for (const auto& s : samples)
    for (const auto& seg : s.segments) image_count += seg.is_image() ? 1 : 0;
  images_.reserve(image_count);  // Piece points into it: no reallocation after this
  bool any_tokens = false;
  for (std::size_t s = 0; s < samples.size(); ++s) {
    std::vector<Piece> pieces;
    for (const auto& seg : samples[s].segments) {
      if (!seg.is_image()) {
        if (seg.text_tokens > 0) pieces.push_back({seg.text_tokens, nullptr});
        continue;
      }
      try {
        images_.push_back(encode_image(seg.image, policy));
      } catch (const ConfigError& e) {
        throw ConfigError("sample " + std::to_string(s + 1) + ": " + e.message());
      }
      pieces.push_back({0, &images_.back()});
    }
    for (const auto& p : pieces) any_tokens = any_tokens || p.llm_tokens() > 0;
    samples_.push_back(std::move(pieces));
  }
  if (!any_tokens) throw ConfigError("the multimodal dataset holds no tokens");
}

MultimodalBatch MultimodalSampler::batch(std::uint64_t index) const {
  MultimodalBatch out;
  const auto count = static_cast<std::uint64_t>(samples_.size());
  const std::uint64_t threshold = (0 - count) % count;  // rejection sampling: exactly uniform
  std::uint64_t state = splitmix64(seed_ ^ splitmix64(index + 1));
  std::int64_t remaining = tokens_per_batch_;
  while (remaining > 0) {
    do {
      state = splitmix64(state);
    } while (state < threshold);
    const auto drawn = static_cast<std::int32_t>(state % count);
    const auto& sample = samples_[static_cast<std::size_t>(drawn)];
    std::int32_t image_number = 0;
    const auto doc = static_cast<std::int32_t>(out.llm.doc_lengths.size());
    std::int64_t length = 0;
    bool cut = false;
    for (const auto& piece : sample) {
      if (cut) break;
      const auto n = piece.llm_tokens();
      if (piece.image != nullptr) {
        if (n > remaining - length) {
          cut = true;  // never split an image: the sample ends before it
          break;
        }
        out.images.push_back({doc, drawn, image_number++, length, *piece.image});
        length += n;
      } else {
        const auto take = std::min(n, remaining - length);
        length += take;
        cut = cut || take < n;
      }
    }
    // A sample cut before an image leaves budget that no later draw may fill exactly (its images
    // could all be too large): the loader pads it with text, so the budget is always met.
    if (cut && length < remaining) length += remaining - length;
    if (length == 0) continue;
    out.llm.doc_lengths.push_back(length);
    remaining -= length;
  }
  return out;
}

}  // namespace flexcp::sched
