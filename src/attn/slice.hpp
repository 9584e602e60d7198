#pragma once
// Attention slices: which query rows of a rank's buffer attend to which key rows of a KV buffer,
// and under which mask. A slice pairs one query segment with one key segment of the same
// document; query i and key j (offsets inside the slice) interact iff j <= i + diag, where
// diag = (position of the first query) - (position of the first key) in the document. A slice
// whose diag >= k_len - 1 is fully visible; one where no pair interacts is never created.
#include <cstdint>
#include <vector>

#include "sched/shard.hpp"

namespace flexcp::attn {

struct AttentionSlice {
  std::int64_t q_begin = 0, q_len = 0;  // query rows, local buffer coordinates
  std::int64_t k_begin = 0, k_len = 0;  // key rows, KV buffer coordinates (trimmed to visible keys)
  std::int64_t diag = 0;
  bool full() const { return diag >= k_len - 1; }
  // Keys visible to query row i (0 <= i < q_len) of this slice: [0, visible_keys(i)).
  std::int64_t visible_keys(std::int64_t i) const;
  // Number of visible (query, key) pairs.
  double area() const;
};

// Slices grouped two ways so kernels can give each parallel task rows that no other task writes:
// by query segment (forward, dQ) and by key segment (dK, dV).
struct SliceGroup {
  std::int64_t begin = 0, len = 0;   // the segment's rows
  std::vector<std::int32_t> slices;  // indices into SliceSet::slices
};

struct SliceSet {
  std::vector<AttentionSlice> slices;
  std::vector<SliceGroup> by_query;
  std::vector<SliceGroup> by_key;
  double area() const;
};

// All slices between the queries of `queries` and the keys of `keys` (shards of the same batch).
SliceSet build_slices(const sched::RankShard& queries, const sched::RankShard& keys);

}  // namespace flexcp::attn
