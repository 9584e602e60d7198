#pragma once
// Attention FLOPs from the exact mask area. Forward: S = Q K^T and O = P V, 2 flops per
// multiply-add each: 4 d H_q per visible pair. Backward, the standard flash-attention count of
// five products (S recomputed, dV, dP, dQ, dK): 10 d H_q per pair, i.e. 2.5x the forward.
#include "attn/tensor.hpp"

namespace flexcp::attn {

inline double forward_flops(double mask_area, const HeadLayout& layout) {
  return 4.0 * mask_area * layout.head_dim * layout.q_heads;
}
inline double backward_flops(double mask_area, const HeadLayout& layout) {
  return 10.0 * mask_area * layout.head_dim * layout.q_heads;
}

}  // namespace flexcp::attn
