#include "attn/kv_pieces.hpp"

#include <algorithm>

namespace flexcp::attn {
namespace {
using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
}

void pack_pieces(const float* kv, std::int64_t tokens, const std::vector<sched::KvPiece>& pieces,
                 const HeadLayout& layout, float* message) {
  const std::int64_t row = std::int64_t{layout.kv_heads} * layout.head_dim;
  const std::int64_t count = sched::piece_tokens(pieces);
  Kokkos::parallel_for("flexcp::attn::kv_pack", Policy(0, static_cast<std::int64_t>(pieces.size())), [&](std::int64_t i) {
    const auto& p = pieces[static_cast<std::size_t>(i)];
    for (int half = 0; half < 2; ++half) {  // K, then V
      const float* src = kv + (half * tokens + p.owner_local_begin) * row;
      std::copy(src, src + p.length * row, message + (half * count + p.message_begin) * row);
    }
  });
}

void add_pieces(const float* message, const std::vector<sched::KvPiece>& pieces, const HeadLayout& layout,
                float* dkv, std::int64_t tokens) {
  const std::int64_t row = std::int64_t{layout.kv_heads} * layout.head_dim;
  const std::int64_t count = sched::piece_tokens(pieces);
  // Pieces of one message never overlap in the owner's buffer, so tasks write disjoint rows.
  Kokkos::parallel_for("flexcp::attn::dkv_scatter_add", Policy(0, static_cast<std::int64_t>(pieces.size())),
                       [&](std::int64_t i) {
                         const auto& p = pieces[static_cast<std::size_t>(i)];
                         for (int half = 0; half < 2; ++half) {
                           const float* src = message + (half * count + p.message_begin) * row;
                           float* dst = dkv + (half * tokens + p.owner_local_begin) * row;
                           for (std::int64_t e = 0; e < p.length * row; ++e) dst[e] += src[e];
                         }
                       });
}

}  // namespace flexcp::attn
