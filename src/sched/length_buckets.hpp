#pragma once
// FlexSP's sequence bucketing: the MILP assigns counts of similar documents rather than each
// document, so its size stays bounded on batches of thousands of documents. Documents sorted by
// length are cut into at most `max_buckets` runs; a bucket's `boundary` (its longest document)
// bounds every member's memory, its mean work stands for each member's time. Boundaries minimise
// the padding tokens (sum of boundary - length), FlexSP's bucketing error, by dynamic programming
// over candidate boundaries on a 1% geometric grid of lengths (exact when there are few lengths).
#include <cstdint>
#include <vector>

namespace flexcp::sched {

struct LengthBucket {
  std::int64_t boundary = 0;         // longest document of the bucket
  std::vector<std::int32_t> docs;    // indices into the lengths given, longest first
};

// `docs` index `lengths`; buckets come out longest first. Deterministic.
std::vector<LengthBucket> bucket_lengths(const std::vector<std::int64_t>& lengths, const std::vector<std::int32_t>& docs,
                                         int max_buckets);

}  // namespace flexcp::sched
