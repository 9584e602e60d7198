#pragma once
// Draws batches from a document-length distribution, the way a packing data loader fills a
// fixed token budget: documents are drawn at random from the distribution's samples until the
// budget is reached, and the last one is cut to fit (its tail would start the next batch).
// Deterministic for a seed on every platform: it uses its own integer arithmetic, not the
// implementation-defined std:: distributions.
#include <cstdint>
#include <vector>

#include "sched/batch.hpp"

namespace flexcp::sched {

class BatchSampler {
 public:
  // `samples`: observed document lengths (each >= 1). `tokens_per_batch` >= 1.
  BatchSampler(std::vector<std::int64_t> samples, std::int64_t tokens_per_batch, std::uint64_t seed);

  // Batch number `index` of the stream; the same index always gives the same batch, so every
  // strategy of a run sees identical batches and ranks need not exchange them.
  Batch batch(std::uint64_t index) const;
  // An "extreme" batch: one document of at least half the budget (uniform in [1/2, 3/4] of it),
  // the rest filled from the distribution as batch() does.
  Batch extreme_batch(std::uint64_t index) const;

 private:
  void fill(Batch& out, std::int64_t remaining, std::uint64_t state) const;
  std::vector<std::int64_t> samples_;
  std::int64_t tokens_per_batch_;
  std::uint64_t seed_;
};

// SplitMix64: a small counter-based mixer, good enough for sampling and synthetic tensors, and
// reproducible from (seed, counter) alone.
std::uint64_t splitmix64(std::uint64_t x);

}  // namespace flexcp::sched
