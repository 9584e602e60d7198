#include "attn/kv_pieces.hpp"

#include <utility>

namespace flexcp::attn {

std::vector<BlockCopy> pack_blocks(const std::vector<sched::KvPiece>& pieces, std::int64_t owner_tokens,
                                   const HeadLayout& layout) {
  const std::int64_t row = std::int64_t{layout.kv_heads} * layout.head_dim;
  const std::int64_t count = sched::piece_tokens(pieces);
  std::vector<BlockCopy> blocks;
  for (const auto& p : pieces)
    for (std::int64_t half = 0; half < 2; ++half)  // K, then V
      blocks.push_back({(half * owner_tokens + p.owner_local_begin) * row, (half * count + p.message_begin) * row,
                        p.length * row});
  return blocks;
}

std::vector<BlockCopy> unpack_blocks(const std::vector<sched::KvPiece>& pieces, std::int64_t owner_tokens,
                                     const HeadLayout& layout) {
  auto blocks = pack_blocks(pieces, owner_tokens, layout);
  for (auto& b : blocks) std::swap(b.src, b.dst);
  return blocks;
}

}  // namespace flexcp::attn
