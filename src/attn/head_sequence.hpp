#pragma once
// The token sequence a head-parallel (all-to-all) block computes attention over after its
// transpose: the split tokens of every member of the block (its buffer after the
// whole-document prefix), ordered by document and position, so a document's chunks held by
// different members join into one run (a zigzag document over the block becomes its two
// halves' worth of contiguous rows, or the whole document when the block is the group) and
// kernels see long slices. Ulysses computes over it locally; the hybrid scheme runs needed-KV
// between such sequences of different blocks.
#include <cstdint>
#include <vector>

#include "sched/shard.hpp"

namespace flexcp::attn {

// A run of one member's split tokens: `length` tokens from `member_offset` within the member's
// split tokens to `sequence_offset` in the sequence.
struct SequenceRun {
  int member = 0;  // index into the shards given
  std::int64_t member_offset = 0, sequence_offset = 0, length = 0;
};

struct HeadSequence {
  sched::RankShard shard;         // the sequence; adjacent positions of a document merged
  std::vector<SequenceRun> runs;  // where every split segment of every member goes
  std::int64_t tokens() const { return shard.tokens(); }
};

// Members [first, first + count) of a group whose member j's buffer is `shards[j]` with a
// whole-document prefix of `whole_tokens[j]` tokens.
HeadSequence head_sequence(const std::vector<sched::RankShard>& shards, const std::vector<std::int64_t>& whole_tokens,
                           int first, int count);

}  // namespace flexcp::attn
