#pragma once
// Random document-packed batches for property tests: many short documents (length 1 and
// shorter-than-the-group ones included) and a few long ones, from a seeded generator.
#include <cstdint>
#include <random>
#include <vector>

#include "sched/batch.hpp"

namespace flexcp::test_support {

inline sched::Batch random_batch(std::mt19937_64& rng, int documents, std::int64_t max_length) {
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<std::int64_t> short_len(1, 8), long_len(1, max_length);
  sched::Batch b;
  for (int d = 0; d < documents; ++d) b.doc_lengths.push_back(kind(rng) < 6 ? short_len(rng) : long_len(rng));
  return b;
}

}  // namespace flexcp::test_support
