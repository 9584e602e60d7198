#pragma once
// A batch as the data loader hands it over: packed documents, each a number of tokens. Token t of
// the packed sequence belongs to document d when offsets[d] <= t < offsets[d] + lengths[d].
#include <cstdint>
#include <vector>

namespace flexcp::sched {

struct Batch {
  std::vector<std::int64_t> doc_lengths;

  std::int64_t total_tokens() const;
  // Exclusive prefix sum of the lengths: where each document starts in the packed sequence.
  std::vector<std::int64_t> doc_offsets() const;
  // Number of (query, key) pairs under the document-masked causal mask: sum of L (L + 1) / 2.
  double causal_mask_area() const;
};

}  // namespace flexcp::sched
