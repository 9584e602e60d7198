#pragma once
// The attention heads of a layer: what every kernel, host or device, needs to know about them.
#include <cmath>

namespace flexcp::attn {

struct HeadLayout {
  int q_heads = 1;   // H_q
  int kv_heads = 1;  // H_kv, divides H_q (grouped-query attention)
  int head_dim = 1;  // d
  int queries_per_kv() const { return q_heads / kv_heads; }
  float scale() const { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }
};

}  // namespace flexcp::attn
