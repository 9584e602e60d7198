#pragma once
// Multimodal batches: samples of interleaved text and images. In the LLM every sample is one
// document of the packed, document-masked sequence, its images' LLM tokens in their places
// among its text tokens; the encoder sees each image as one or more bidirectional sequences of
// patches (image_tokens.hpp). The sampler fills a token budget of LLM tokens as a packing data
// loader does, cutting the last sample to fit, and never inside an image.
#include <cstdint>
#include <vector>

#include "sched/batch.hpp"
#include "sched/image_tokens.hpp"

namespace flexcp::sched {

// A run of text tokens, or one image (width and height > 0).
struct Segment {
  std::int64_t text_tokens = 0;
  ImageSize image{};
  bool is_image() const { return image.width > 0 || image.height > 0; }
};

struct MultimodalSample {
  std::vector<Segment> segments;
};

// An image of a batch: in LLM document `doc`, from position `llm_begin` on.
struct PlacedImage {
  std::int32_t doc = 0;
  std::int32_t sample = 0;     // line of the dataset's sample (0-based), for error messages
  std::int32_t in_sample = 0;  // image number inside the sample (0-based)
  std::int64_t llm_begin = 0;
  EncodedImage encoded;
};

struct MultimodalBatch {
  Batch llm;                       // one document per (possibly cut) sample
  std::vector<PlacedImage> images; // in document and position order
  std::int64_t image_llm_tokens() const;
  std::int64_t encoder_patches() const;
};

class MultimodalSampler {
 public:
  // Tokenizes every sample's images once. Throws ConfigError (naming the sample) when an image
  // has no size, the policy is unusable, or no sample holds a token.
  MultimodalSampler(const std::vector<MultimodalSample>& samples, const ImagePolicy& policy,
                    std::int64_t tokens_per_batch, std::uint64_t seed);

  // Batch `index` of the stream: samples drawn uniformly (seeded, platform-independent) until
  // exactly tokens_per_batch LLM tokens. The last sample is cut at its text, or before an image
  // that does not fit (never inside one); what is left of the budget after such a cut becomes
  // text tokens of that document, so every batch holds exactly the budget.
  MultimodalBatch batch(std::uint64_t index) const;

  // Sample s as LLM tokens: text runs and encoded images in order.
  struct Piece {
    std::int64_t text_tokens = 0;
    const EncodedImage* image = nullptr;
    std::int64_t llm_tokens() const { return image ? image->llm_tokens() : text_tokens; }
  };
  const std::vector<std::vector<Piece>>& samples() const { return samples_; }

 private:
  std::vector<EncodedImage> images_;
  std::vector<std::vector<Piece>> samples_;
  std::int64_t tokens_per_batch_;
  std::uint64_t seed_;
};

}  // namespace flexcp::sched
