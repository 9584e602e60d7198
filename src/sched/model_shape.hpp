#pragma once
// A transformer's shape, and what the planner derives from it: FLOPs per token of the linear
// layers, FLOPs per visible (query, key) pair of attention, bytes of K and V per token, and how
// many tokens fit on one rank.
#include <cstdint>
#include <string>

namespace flexcp::sched {

// Activation checkpointing: what the backward pass recomputes.
//   none       nothing: every activation is kept
//   selective  the attention core (Korthikanti et al. 2022, Megatron-LM's --recompute-granularity
//              selective): attention's forward, and its context-parallel communication, run twice
//   full       every layer's forward (Megatron-LM's --recompute-granularity full): linear layers
//              and attention, with attention's communication, run forward twice
enum class Checkpointing : std::uint8_t { none, selective, full };
const char* to_string(Checkpointing checkpointing);

struct ModelShape {
  std::string name = "unnamed";
  int layers = 1;
  std::int64_t hidden = 1;
  int q_heads = 1;
  int kv_heads = 1;
  int head_dim = 1;
  std::int64_t ffn_hidden = 4;   // SwiGLU MLP width (three matrices)
  std::int64_t vocab = 0;        // 0: no embedding/logits layer counted
  double activation_bytes_per_token = 0.0;  // all layers, as stored for backward
  double state_bytes_per_param = 16.0;      // mixed-precision Adam: bf16 weights+grads, fp32 master+moments
  Checkpointing checkpointing = Checkpointing::none;  // what activation_bytes_per_token assumes

  double parameters() const;
  // Forward FLOPs per token of every matrix multiply outside attention, all layers and logits.
  double linear_flops_per_token() const;
  // Forward FLOPs per visible (query, key) pair, all layers: QK^T and PV, 2 flops per MAC.
  double attention_flops_per_pair() const { return 4.0 * head_dim * q_heads * layers; }
  // Bytes of one token's K and V in one layer (`element_bytes` each: 2 for bf16).
  double kv_bytes_per_token(double element_bytes) const { return 2.0 * kv_heads * head_dim * element_bytes; }

  // Forward passes of attention per training step: 2 when the backward recomputes it.
  int attention_forward_passes() const { return checkpointing == Checkpointing::none ? 1 : 2; }
  // Work a step executes, in forward-pass units: the training factors below plus the recomputed
  // forward (1 more for linear layers under full checkpointing, for attention under either).
  double linear_executed_factor() const;
  double attention_executed_factor() const;
};

// Training multiplies forward FLOPs by these (backward is twice the forward for matrix multiplies;
// flash-attention's backward is 2.5 times its forward). They define the model FLOPs of a step
// (what TFLOPS/GPU reports, as MFU does): recomputation is work done, not model FLOPs.
inline constexpr double kLinearTrainingFactor = 3.0;
inline constexpr double kAttentionTrainingFactor = 3.5;

// Inline: the planners call them per document.
inline double ModelShape::linear_executed_factor() const {
  return kLinearTrainingFactor + (checkpointing == Checkpointing::full ? 1.0 : 0.0);
}
inline double ModelShape::attention_executed_factor() const {
  return kAttentionTrainingFactor + (attention_forward_passes() - 1);
}

}  // namespace flexcp::sched
