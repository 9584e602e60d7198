#pragma once
// Attention slices: which query rows of a rank's buffer attend to which key rows of a KV buffer,
// and under which mask. A slice pairs one query segment with one key segment of the same
// document; query i and key j (offsets inside the slice) interact iff j <= i + diag, where
// diag = (position of the first query) - (position of the first key) in the document. A slice
// whose diag >= k_len - 1 is fully visible; one where no pair interacts is never created.
#include <cstdint>
#include <vector>

#include "sched/shard.hpp"

// The slice arithmetic below is shared by the host kernels and the CUDA kernels (which use
// AttentionSlice itself as their slice record), so the mask is defined in exactly one place.
#if defined(__CUDACC__)
#define FLEXCP_HOST_DEVICE __host__ __device__
#else
#define FLEXCP_HOST_DEVICE
#endif

namespace flexcp::attn {

struct AttentionSlice {
  std::int64_t q_begin = 0, q_len = 0;  // query rows, local buffer coordinates
  std::int64_t k_begin = 0, k_len = 0;  // key rows, KV buffer coordinates (trimmed to visible keys)
  std::int64_t diag = 0;
  FLEXCP_HOST_DEVICE bool full() const { return diag >= k_len - 1; }
  // Keys visible to query row i (0 <= i < q_len) of this slice: [0, visible_keys(i)).
  FLEXCP_HOST_DEVICE std::int64_t visible_keys(std::int64_t i) const {
    const std::int64_t v = i + diag + 1;
    return v < 0 ? 0 : (v > k_len ? k_len : v);
  }
  // The first query row that sees key j (0 <= j < k_len); every later row sees it too.
  FLEXCP_HOST_DEVICE std::int64_t first_query_seeing(std::int64_t j) const { return j - diag > 0 ? j - diag : 0; }
  // Whether query row i sees key j.
  FLEXCP_HOST_DEVICE bool visible(std::int64_t i, std::int64_t j) const { return j < k_len && j <= i + diag; }
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
