#pragma once
// Attention slices as entries of a fused-attention library's packed (ragged) layout, where an
// entry is a query range against a key range under one of two masks: none, or causal aligned to
// the bottom-right corner (query r of s_q sees key c of s_kv iff c <= r + s_kv - s_q, s_q <= s_kv).
// A slice (attn/slice.hpp: query i sees key j iff j <= i + diag, j < k_len) becomes at most two
// entries that together cover its visible pairs exactly once and nothing else:
//   fully visible (diag >= k_len - 1)          -> one entry, mask none;
//   diag == k_len - q_len (q_len <= k_len)     -> one entry, bottom-right;
//   otherwise                                   -> rows that see every key (i + diag + 1 >= k_len)
//     as a mask-none entry, and the earlier rows that see any key (i >= -diag) as a bottom-right
//     entry over keys [0, i_last + diag + 1).
// Entries of one library call may not share query rows (each writes its O and Stats rows), nor,
// in the backward, key rows (dK, dV are written, not accumulated): sdpa_layers() partitions
// entries into such layers, one mask kind each. Pure host code, tested on the host
// (tests/unit/test_sdpa_entries.cpp); used by the cuDNN path of CudaKernels.
#include <cstdint>
#include <vector>

#include "attn/slice.hpp"

namespace flexcp::attn {

enum class EntryMask { none, bottom_right };

struct SdpaEntry {
  std::int64_t q_begin = 0, q_len = 0;  // query rows, buffer coordinates
  std::int64_t k_begin = 0, k_len = 0;  // key rows, buffer coordinates
  EntryMask mask = EntryMask::none;
  // Whether the entry's query r sees its key c (0 <= r < q_len, 0 <= c < k_len).
  bool visible(std::int64_t r, std::int64_t c) const {
    return mask == EntryMask::none || c <= r + k_len - q_len;
  }
};

// The entries of one slice: none for an empty one, else one or two.
std::vector<SdpaEntry> sdpa_entries(const AttentionSlice& slice);

struct SdpaLayer {
  EntryMask mask = EntryMask::none;
  std::vector<SdpaEntry> entries;  // ascending q_begin and k_begin; pairwise disjoint query rows
  std::int64_t max_q_len() const;
  std::int64_t max_k_len() const;
};

// Every entry of `slices`, in layers of one mask kind whose entries have pairwise disjoint query
// rows and ascending query and key offsets, and with `disjoint_keys` pairwise disjoint key rows
// as well. Greedy first fit in query order.
std::vector<SdpaLayer> sdpa_layers(const SliceSet& slices, bool disjoint_keys);

}  // namespace flexcp::attn
