#pragma once
// The attention heads of a layer: what every kernel, host or device, needs to know about them.
#include <cmath>
#include <cstdint>

namespace flexcp::attn {

struct HeadLayout {
  int q_heads = 1;   // H_q
  int kv_heads = 1;  // H_kv, divides H_q (grouped-query attention)
  int head_dim = 1;  // d
  int queries_per_kv() const { return q_heads / kv_heads; }
  float scale() const { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }
};

// Elements of the tensors of `tokens` tokens: Q-like ([tokens][H_q][d]), row statistics
// ([tokens][H_q]) and a KV message (K then V, each [tokens][H_kv][d]).
inline std::int64_t q_floats(std::int64_t tokens, const HeadLayout& l) {
  return tokens * l.q_heads * l.head_dim;
}
inline std::int64_t row_floats(std::int64_t tokens, const HeadLayout& l) { return tokens * l.q_heads; }
inline std::int64_t kv_floats(std::int64_t tokens, const HeadLayout& l) {
  return 2 * tokens * l.kv_heads * l.head_dim;
}

// The heads one member of a head-parallel (all-to-all) block of `members` ranks computes: H_q /
// members query heads and the KV heads they use (H_kv / members, or one replicated head).
inline HeadLayout head_shard_layout(const HeadLayout& l, int members) {
  return {l.q_heads / members, l.kv_heads / members > 1 ? l.kv_heads / members : 1, l.head_dim};
}

}  // namespace flexcp::attn
