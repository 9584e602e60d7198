#pragma once
// Moving KV rows between a rank's KV message (K of all its tokens, then V) and the compact
// message of the pieces a peer needs (K of the pieces, then V), as block copies any Kernels
// runs: gather before sending KV, scatter-add when the partial dK/dV come back.
#include <vector>

#include "attn/head_layout.hpp"
#include "attn/prepared.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

// From a message of `owner_tokens` tokens to the message of `pieces`.
std::vector<BlockCopy> pack_blocks(const std::vector<sched::KvPiece>& pieces, std::int64_t owner_tokens,
                                   const HeadLayout& layout);
// From the message of `pieces` back to where they came from (used with accumulation: the pieces
// of one message never overlap in the owner's buffer).
std::vector<BlockCopy> unpack_blocks(const std::vector<sched::KvPiece>& pieces, std::int64_t owner_tokens,
                                     const HeadLayout& layout);

}  // namespace flexcp::attn
