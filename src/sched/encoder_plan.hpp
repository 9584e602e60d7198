#pragma once
// The encoder's own layout, independent of the LLM's: its image sequences balanced over its
// ranks by training time (attention is quadratic in a sequence's patches, so a balance by patch
// count would not do), largest first onto the least-loaded rank; a sequence that alone exceeds
// a rank's fair share, or a rank's memory, is split context-parallel over the fewest consecutive
// ranks that bring it under both, inside one node when it fits in one.
#include <cstdint>

#include "sched/encoder_cost.hpp"
#include "sched/token_layout.hpp"

namespace flexcp::sched {

struct EncoderPlanContext {
  EncoderCostContext cost;
  int first_rank = 0;   // the encoder's ranks: [first_rank, first_rank + ranks)
  int ranks = 1;
  std::int64_t capacity_patches = 1;  // activation memory of one rank, in patches
};

// Throws ConfigError naming the image (sample and image number) when one of its sequences needs
// more memory than `ranks` ranks of `capacity_patches` each hold together.
void require_images_fit(const MultimodalBatch& batch, int ranks, std::int64_t capacity_patches);

// Throws as require_images_fit() when an image sequence exceeds all the encoder's ranks.
ImageTokenLayout plan_encoder(const MultimodalBatch& batch, const EncoderPlanContext& context);

// Patches one rank can hold: usable memory less the encoder's states (sharded over `state_ranks`)
// and `reserved_bytes`, over activation bytes per patch. Throws ConfigError when the states alone
// do not fit or the encoder gives no activation bytes.
std::int64_t encoder_capacity_patches(const EncoderShape& encoder, std::int64_t llm_hidden, const HardwareProfile& hardware,
                                      int state_ranks, double reserved_bytes = 0.0);

}  // namespace flexcp::sched
