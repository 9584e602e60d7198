#pragma once
// The token sequence a head-parallel (all-to-all) block computes attention over after its
// transpose: the split tokens of each member of the block (its buffer after the whole-document
// prefix), in member order. Ulysses computes over it locally; the hybrid scheme runs needed-KV
// between such sequences of different blocks.
#include <cstdint>
#include <vector>

#include "sched/shard.hpp"

namespace flexcp::attn {

// Members [first, first + count) of a group whose member j's buffer is `shards[j]` with a
// whole-document prefix of `whole_tokens[j]` tokens.
sched::RankShard head_sequence(const std::vector<sched::RankShard>& shards, const std::vector<std::int64_t>& whole_tokens,
                               int first, int count);

}  // namespace flexcp::attn
