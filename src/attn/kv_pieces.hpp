#pragma once
// Moving KV rows between a rank's KV message (K of all its tokens, then V) and the compact
// message of the pieces a peer needs (K of the pieces, then V): gather before sending KV,
// scatter-add when partial dK/dV come back.
#include <vector>

#include "attn/tensor.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

// message := the K and V rows of `pieces`, taken from `kv` (a message of `tokens` tokens).
void pack_pieces(const float* kv, std::int64_t tokens, const std::vector<sched::KvPiece>& pieces,
                 const HeadLayout& layout, float* message);
// dkv (a message of `tokens` tokens) += the rows of `message`, put back where the pieces came from.
void add_pieces(const float* message, const std::vector<sched::KvPiece>& pieces, const HeadLayout& layout,
                float* dkv, std::int64_t tokens);

}  // namespace flexcp::attn
