#include "sched/encoder_shape.hpp"

namespace flexcp::sched {

double EncoderShape::linear_flops_per_patch() const {
  const double width = static_cast<double>(heads) * head_dim;
  const double h = static_cast<double>(hidden);
  return 2.0 * layers * (3.0 * h * width + width * h + mlp_matrices * h * static_cast<double>(mlp_hidden));
}

double EncoderShape::projector_flops_per_token(std::int64_t llm_hidden) const {
  const double in = static_cast<double>(hidden) * images.merge;
  const double out = static_cast<double>(llm_hidden);
  if (projector_hidden == 0) return 2.0 * in * out;
  const double mid = static_cast<double>(projector_hidden);
  return 2.0 * (in * mid + mid * out);
}

double EncoderShape::parameters(std::int64_t llm_hidden) const {
  // Per-layer weights are the linear FLOPs per patch over 2 (one multiply-add per weight).
  const double blocks = linear_flops_per_patch() / 2.0;
  const double patch_embedding = 3.0 * images.patch_size * images.patch_size * static_cast<double>(hidden);
  return blocks + patch_embedding + projector_flops_per_token(llm_hidden) / 2.0;
}

ModelShape EncoderShape::attention_shape() const {
  ModelShape m;
  m.name = name;
  m.layers = layers;
  m.hidden = hidden;
  m.q_heads = heads;
  m.kv_heads = heads;
  m.head_dim = head_dim;
  m.checkpointing = checkpointing;
  return m;
}

}  // namespace flexcp::sched
