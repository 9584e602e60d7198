#pragma once
// Where a rank's tokens come from. A rank holds a local buffer of tokens made of segments, each
// a run of consecutive positions of one document. The executor computes attention between
// segments; the planner decides which segments each rank holds.
#include <cstdint>
#include <vector>

#include "sched/batch.hpp"

namespace flexcp::sched {

struct TokenSegment {
  std::int32_t doc = 0;           // document index in the batch
  std::int64_t pos_begin = 0;     // first position inside the document
  std::int64_t length = 0;        // number of tokens
  std::int64_t local_begin = 0;   // where the segment starts in the rank's local buffer
};

struct RankShard {
  std::vector<TokenSegment> segments;  // in local-buffer order, contiguous, non-empty
  std::int64_t tokens() const;
};

// Splits every document over `group_size` ranks in 2P chunks placed zigzag: rank r holds chunks
// r and 2P-1-r of each document (Megatron-LM / TransformerEngine "dual chunk"), which gives every
// rank a near-equal share of the causal work. Chunk c of a document of length L covers positions
// [floor(c L / 2P), floor((c+1) L / 2P)), so documents shorter than 2P simply leave some chunks
// empty: no padding, and the result is the same as unsharded attention.
std::vector<RankShard> zigzag_shards(const Batch& batch, int group_size);

}  // namespace flexcp::sched
