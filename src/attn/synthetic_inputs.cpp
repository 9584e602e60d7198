#include "attn/synthetic_inputs.hpp"

#include "sched/batch_sampler.hpp"

namespace flexcp::attn {

float synthetic_value(std::uint64_t seed, SyntheticTensor which, std::int64_t global_token, int head, int dim) {
  std::uint64_t h = sched::splitmix64(seed ^ (static_cast<std::uint64_t>(which) << 56));
  h = sched::splitmix64(h ^ static_cast<std::uint64_t>(global_token));
  h = sched::splitmix64(h ^ (static_cast<std::uint64_t>(head) << 32 | static_cast<std::uint32_t>(dim)));
  // Top 24 bits -> [0, 1) exactly representable in float, then to [-1, 1).
  return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

void fill_synthetic(const TensorRef& dst, const sched::RankShard& shard, const std::vector<std::int64_t>& doc_offsets,
                    std::uint64_t seed, SyntheticTensor which) {
  for (const auto& seg : shard.segments)
    for (std::int64_t i = 0; i < seg.length; ++i) {
      const std::int64_t global = doc_offsets[static_cast<std::size_t>(seg.doc)] + seg.pos_begin + i;
      for (int h = 0; h < dst.heads; ++h) {
        float* row = dst.row(seg.local_begin + i, h);
        for (int d = 0; d < dst.dim; ++d) row[d] = synthetic_value(seed, which, global, h, d);
      }
    }
}

std::vector<float> synthetic_global(std::int64_t tokens, int heads, int dim, std::uint64_t seed, SyntheticTensor which) {
  std::vector<float> out(static_cast<std::size_t>(tokens * heads * dim));
  for (std::int64_t t = 0; t < tokens; ++t)
    for (int h = 0; h < heads; ++h)
      for (int d = 0; d < dim; ++d) out[static_cast<std::size_t>((t * heads + h) * dim + d)] = synthetic_value(seed, which, t, h, d);
  return out;
}

GlobalTensors synthetic_global_inputs(std::int64_t tokens, const HeadLayout& layout, std::uint64_t seed) {
  return {synthetic_global(tokens, layout.q_heads, layout.head_dim, seed, SyntheticTensor::query),
          synthetic_global(tokens, layout.kv_heads, layout.head_dim, seed, SyntheticTensor::key),
          synthetic_global(tokens, layout.kv_heads, layout.head_dim, seed, SyntheticTensor::value),
          synthetic_global(tokens, layout.q_heads, layout.head_dim, seed, SyntheticTensor::output_grad)};
}

}  // namespace flexcp::attn
