#include "sched/model_shape.hpp"

namespace flexcp::sched {

namespace {
double per_layer_matmul_params(const ModelShape& m) {
  const double h = static_cast<double>(m.hidden);
  const double qkv = h * static_cast<double>(m.q_heads + 2 * m.kv_heads) * m.head_dim;
  const double out = static_cast<double>(m.q_heads) * m.head_dim * h;
  const double mlp = 3.0 * h * static_cast<double>(m.ffn_hidden);
  return qkv + out + mlp;
}
}  // namespace

const char* to_string(Checkpointing checkpointing) {
  switch (checkpointing) {
    case Checkpointing::none: return "none";
    case Checkpointing::selective: return "selective";
    case Checkpointing::full: return "full";
  }
  return "?";
}

double ModelShape::parameters() const {
  return layers * (per_layer_matmul_params(*this) + 2.0 * static_cast<double>(hidden)) +
         2.0 * static_cast<double>(vocab) * static_cast<double>(hidden);
}

double ModelShape::linear_flops_per_token() const {
  return 2.0 * (layers * per_layer_matmul_params(*this) + static_cast<double>(vocab) * static_cast<double>(hidden));
}

}  // namespace flexcp::sched
