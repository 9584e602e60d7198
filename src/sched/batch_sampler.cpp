#include "sched/batch_sampler.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace flexcp::sched {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

BatchSampler::BatchSampler(std::vector<std::int64_t> samples, std::int64_t tokens_per_batch,
                           std::uint64_t seed)
    : samples_(std::move(samples)), tokens_per_batch_(tokens_per_batch), seed_(seed) {
  FLEXCP_CHECK(!samples_.empty(), "a document-length distribution needs at least one sample");
  FLEXCP_CHECK(tokens_per_batch_ >= 1, "tokens_per_batch must be positive");
  for (auto s : samples_) FLEXCP_CHECK(s >= 1, "document lengths must be >= 1");
}

void BatchSampler::fill(Batch& out, std::int64_t remaining, std::uint64_t state) const {
  const auto count = static_cast<std::uint64_t>(samples_.size());
  // Rejection sampling gives an exactly uniform index in [0, count).
  const std::uint64_t threshold = (0 - count) % count;
  while (remaining > 0) {
    do {
      state = splitmix64(state);
    } while (state < threshold);
    const std::int64_t length = std::min(samples_[static_cast<std::size_t>(state % count)], remaining);
    out.doc_lengths.push_back(length);
    remaining -= length;
  }
}

Batch BatchSampler::batch(std::uint64_t index) const {
  Batch out;
  fill(out, tokens_per_batch_, splitmix64(seed_ ^ splitmix64(index + 1)));
  return out;
}

Batch BatchSampler::extreme_batch(std::uint64_t index) const {
  Batch out;
  const std::uint64_t state = splitmix64(~seed_ ^ splitmix64(index + 1));
  const std::int64_t half = (tokens_per_batch_ + 1) / 2;
  const std::int64_t longest = half + static_cast<std::int64_t>(state % static_cast<std::uint64_t>(tokens_per_batch_ / 4 + 1));
  out.doc_lengths.push_back(std::min(longest, tokens_per_batch_));
  fill(out, tokens_per_batch_ - out.doc_lengths.front(), splitmix64(state));
  return out;
}

}  // namespace flexcp::sched
