#pragma once
// A vision encoder (ViT: pre-norm blocks, multi-head bidirectional attention within each image
// sequence, a GELU MLP) and its projector (an MLP from the encoder width times `merge` to the
// LLM's width), with the image policy that makes its tokens. What the cost model needs: FLOPs per
// patch and per attention pair, projector FLOPs per LLM token, parameters and activation bytes.
#include <cstdint>
#include <string>

#include "sched/image_tokens.hpp"
#include "sched/model_shape.hpp"

namespace flexcp::sched {

struct EncoderShape {
  std::string name = "encoder";
  int layers = 1;
  std::int64_t hidden = 1;
  int heads = 1;
  int head_dim = 1;
  std::int64_t mlp_hidden = 4;
  int mlp_matrices = 2;             // GELU MLP: 2; SwiGLU: 3
  std::int64_t projector_hidden = 0;  // 0: one linear layer; else a two-layer MLP of this width
  double activation_bytes_per_patch = 0.0;  // all layers, as kept for the backward
  Checkpointing checkpointing = Checkpointing::none;  // what activation_bytes_per_patch assumes
  double state_bytes_per_param = 16.0;
  ImagePolicy images;

  // Forward FLOPs of the linear layers per patch, all layers (QKV, output, MLP; 2 per MAC).
  double linear_flops_per_patch() const;
  // Forward FLOPs of the projector per LLM token (its input is `merge` patches side by side).
  double projector_flops_per_token(std::int64_t llm_hidden) const;
  double parameters(std::int64_t llm_hidden) const;
  // The encoder as the cost model sees it: its heads and layers, no KV grouping, its
  // checkpointing (which sets the recomputed forward passes, executed_factor and the like).
  ModelShape attention_shape() const;
  // K and V of one patch in one layer.
  double kv_bytes_per_patch(double element_bytes) const { return 2.0 * heads * head_dim * element_bytes; }
};

}  // namespace flexcp::sched
