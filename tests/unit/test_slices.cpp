#include <gtest/gtest.h>

#include <random>

#include "../random_batch.hpp"
#include "attn/slice.hpp"
#include "sched/shard.hpp"

using namespace flexcp;

// Brute force: count (query, key) pairs of two shards under the document causal mask.
static double brute_force_area(const sched::RankShard& q, const sched::RankShard& k) {
  double area = 0;
  for (const auto& qs : q.segments)
    for (const auto& ks : k.segments)
      if (qs.doc == ks.doc)
        for (std::int64_t i = 0; i < qs.length; ++i)
          for (std::int64_t j = 0; j < ks.length; ++j) area += (ks.pos_begin + j <= qs.pos_begin + i) ? 1 : 0;
  return area;
}

TEST(Slices, AreaMatchesBruteForceForEveryShardPair) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 60; ++trial) {
    const int p = 1 + trial % 7;
    const auto batch = test_support::random_batch(rng, 1 + trial % 9, 120);
    const auto shards = sched::zigzag_shards(batch, p);
    double total = 0;
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b) {
        const auto set = attn::build_slices(shards[a], shards[b]);
        EXPECT_DOUBLE_EQ(set.area(), brute_force_area(shards[a], shards[b])) << "p=" << p << " " << a << "<-" << b;
        total += set.area();
      }
    EXPECT_DOUBLE_EQ(total, batch.causal_mask_area());
  }
}

TEST(Slices, MaskRelation) {
  attn::AttentionSlice s{0, 4, 0, 4, 0};  // the diagonal block of one document
  EXPECT_FALSE(s.full());
  EXPECT_EQ(s.visible_keys(0), 1);
  EXPECT_EQ(s.visible_keys(3), 4);
  EXPECT_DOUBLE_EQ(s.area(), 10);
  attn::AttentionSlice later{0, 2, 0, 3, 5};  // queries far after the keys: fully visible
  EXPECT_TRUE(later.full());
  EXPECT_DOUBLE_EQ(later.area(), 6);
  attn::AttentionSlice before{0, 5, 0, 2, -3};  // first 3 queries precede every key
  EXPECT_EQ(before.visible_keys(2), 0);
  EXPECT_EQ(before.visible_keys(3), 1);
  EXPECT_DOUBLE_EQ(before.area(), 1 + 2);
}

TEST(Slices, NoSliceBetweenDifferentDocumentsOrAcausalBlocks) {
  sched::RankShard q{{{0, 0, 4, 0}}}, k_other_doc{{{1, 0, 4, 0}}}, k_future{{{0, 10, 4, 0}}};
  EXPECT_TRUE(attn::build_slices(q, k_other_doc).slices.empty());
  EXPECT_TRUE(attn::build_slices(q, k_future).slices.empty());
}
