#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "../random_batch.hpp"
#include "sched/batch_sampler.hpp"
#include "sched/shard.hpp"

using namespace flexcp;

TEST(Batch, OffsetsAndMaskArea) {
  sched::Batch b{{3, 1, 4}};
  EXPECT_EQ(b.total_tokens(), 8);
  EXPECT_EQ(b.doc_offsets(), (std::vector<std::int64_t>{0, 3, 4}));
  EXPECT_DOUBLE_EQ(b.causal_mask_area(), 6 + 1 + 10);
}

TEST(BatchSampler, FillsTheBudgetExactlyAndIsDeterministic) {
  sched::BatchSampler sampler({5, 100, 7, 4000, 1}, 8192, 42);
  for (std::uint64_t i = 0; i < 20; ++i) {
    const auto b = sampler.batch(i);
    EXPECT_EQ(b.total_tokens(), 8192) << "batch " << i;
    for (auto l : b.doc_lengths) EXPECT_GE(l, 1);
    EXPECT_EQ(b.doc_lengths, sampler.batch(i).doc_lengths);
  }
  EXPECT_NE(sampler.batch(0).doc_lengths, sampler.batch(1).doc_lengths);
  EXPECT_NE(sampler.batch(0).doc_lengths, sched::BatchSampler({5, 100, 7, 4000, 1}, 8192, 43).batch(0).doc_lengths);
}

TEST(BatchSampler, DrawsEverySampleEventually) {
  sched::BatchSampler sampler({1, 2, 3}, 600, 7);
  std::set<std::int64_t> seen;
  for (auto l : sampler.batch(0).doc_lengths) seen.insert(l);
  EXPECT_EQ(seen, (std::set<std::int64_t>{1, 2, 3}));
}

// Property: for random batches and group sizes 1..9, every token of every document is held by
// exactly one rank, rank r holds exactly chunks r and 2P-1-r, and segments tile the local buffer.
TEST(ZigzagShards, EveryTokenExactlyOnceInTheRightChunks) {
  std::mt19937_64 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    const int p = 1 + trial % 9;
    const auto batch = test_support::random_batch(rng, 1 + trial % 13, 300);
    const auto shards = sched::zigzag_shards(batch, p);
    ASSERT_EQ(shards.size(), static_cast<std::size_t>(p));
    std::map<std::pair<int, std::int64_t>, int> owner;
    for (int r = 0; r < p; ++r) {
      std::int64_t local = 0;
      for (const auto& seg : shards[r].segments) {
        EXPECT_GT(seg.length, 0);
        EXPECT_EQ(seg.local_begin, local);
        local += seg.length;
        const std::int64_t length = batch.doc_lengths[seg.doc];
        for (std::int64_t pos = seg.pos_begin; pos < seg.pos_begin + seg.length; ++pos) {
          EXPECT_TRUE(owner.emplace(std::make_pair(seg.doc, pos), r).second) << "token held twice";
          std::int64_t c = 0;  // the chunk [c L / 2P, (c+1) L / 2P) that holds pos
          while (!((c * length) / (2 * p) <= pos && pos < ((c + 1) * length) / (2 * p))) ++c;
          EXPECT_TRUE(c == r || c == 2 * p - 1 - r) << "doc " << seg.doc << " pos " << pos << " chunk " << c;
        }
      }
      EXPECT_EQ(local, shards[r].tokens());
    }
    EXPECT_EQ(static_cast<std::int64_t>(owner.size()), batch.total_tokens());
  }
}

TEST(ZigzagShards, DocumentShorterThanTheGroupNeedsNoPadding) {
  const auto shards = sched::zigzag_shards(sched::Batch{{3}}, 4);  // 8 chunks, 3 tokens
  std::int64_t total = 0;
  for (const auto& s : shards) total += s.tokens();
  EXPECT_EQ(total, 3);
}
