// The slice -> fused-attention entry decomposition (attn/sdpa_entries.hpp) the cuDNN path of
// CudaKernels runs on: every visible pair covered exactly once, no invisible pair, every entry
// valid for its mask, and layers with disjoint query (and, for the backward, key) rows.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>

#include "../random_batch.hpp"
#include "attn/sdpa_entries.hpp"
#include "sched/shard.hpp"

using namespace flexcp;

namespace {
// Checks the entries of one slice pair by pair; returns the number of pairs they cover.
void expect_exact_cover(const attn::AttentionSlice& s) {
  const auto entries = attn::sdpa_entries(s);
  ASSERT_LE(entries.size(), 2u);
  std::map<std::pair<std::int64_t, std::int64_t>, int> covered;
  for (const auto& e : entries) {
    EXPECT_GT(e.q_len, 0);
    EXPECT_GT(e.k_len, 0);
    if (e.mask == attn::EntryMask::bottom_right) {
      EXPECT_LE(e.q_len, e.k_len) << "bottom-right needs s_q <= s_kv";
    }
    EXPECT_GE(e.q_begin, s.q_begin);
    EXPECT_LE(e.q_begin + e.q_len, s.q_begin + s.q_len);
    EXPECT_GE(e.k_begin, s.k_begin);
    EXPECT_LE(e.k_begin + e.k_len, s.k_begin + s.k_len);
    for (std::int64_t r = 0; r < e.q_len; ++r) {
      bool any = false;
      for (std::int64_t c = 0; c < e.k_len; ++c)
        if (e.visible(r, c)) {
          any = true;
          ++covered[{e.q_begin + r - s.q_begin, e.k_begin + c - s.k_begin}];
        }
      EXPECT_TRUE(any) << "entry row " << r << " sees no key";
    }
  }
  for (std::int64_t i = 0; i < s.q_len; ++i)
    for (std::int64_t j = 0; j < s.k_len; ++j) {
      const auto it = covered.find({i, j});
      const int times = it == covered.end() ? 0 : it->second;
      EXPECT_EQ(times, s.visible(i, j) ? 1 : 0)
          << "pair (" << i << ", " << j << ") of slice q_len " << s.q_len << " k_len " << s.k_len << " diag " << s.diag;
    }
}
}  // namespace

TEST(SdpaEntries, EveryVisiblePairExactlyOnce) {
  for (std::int64_t q_len = 1; q_len <= 7; ++q_len)
    for (std::int64_t k_len = 1; k_len <= 7; ++k_len)
      for (std::int64_t diag = -q_len + 1; diag <= k_len + 1; ++diag)  // every slice with a visible pair
        expect_exact_cover({3, q_len, 5, k_len, diag});
}

TEST(SdpaEntries, ShapesOfTheThreeCases) {
  auto e = attn::sdpa_entries({0, 4, 0, 3, 5});  // fully visible
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].mask, attn::EntryMask::none);
  e = attn::sdpa_entries({0, 4, 0, 6, 2});  // diag == k_len - q_len: one bottom-right entry
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].mask, attn::EntryMask::bottom_right);
  e = attn::sdpa_entries({0, 5, 0, 2, -3});  // 3 rows see nothing, 1 sees one key, 1 sees both
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].mask, attn::EntryMask::bottom_right);
  EXPECT_EQ(e[0].q_begin, 3);
  EXPECT_EQ(e[0].q_len, 1);
  EXPECT_EQ(e[0].k_len, 1);
  EXPECT_EQ(e[1].mask, attn::EntryMask::none);
  EXPECT_EQ(e[1].q_begin, 4);
  EXPECT_TRUE(attn::sdpa_entries({0, 0, 0, 3, 0}).empty());
}

TEST(SdpaEntries, LayersAreDisjointAndCoverTheSlices) {
  std::mt19937_64 rng(16);
  for (int trial = 0; trial < 40; ++trial) {
    const int p = 1 + trial % 5;
    const auto batch = test_support::random_batch(rng, 1 + trial % 7, 90);
    const auto shards = sched::zigzag_shards(batch, p);
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b) {
        const auto set = attn::build_slices(shards[a], shards[b]);
        for (const bool disjoint_keys : {false, true}) {
          std::size_t entries = 0, expected = 0;
          for (const auto& s : set.slices) expected += attn::sdpa_entries(s).size();
          for (const auto& layer : attn::sdpa_layers(set, disjoint_keys)) {
            entries += layer.entries.size();
            for (std::size_t x = 0; x < layer.entries.size(); ++x) {
              const auto& e = layer.entries[x];
              EXPECT_EQ(e.mask, layer.mask);
              if (x > 0) {
                EXPECT_GE(e.q_begin, layer.entries[x - 1].q_begin) << "query offsets ascend";
                EXPECT_GE(e.k_begin, layer.entries[x - 1].k_begin) << "key offsets ascend";
              }
              for (std::size_t y = x + 1; y < layer.entries.size(); ++y) {
                const auto& o = layer.entries[y];
                EXPECT_TRUE(e.q_begin + e.q_len <= o.q_begin || o.q_begin + o.q_len <= e.q_begin) << "query rows shared";
                if (disjoint_keys) {
                  EXPECT_TRUE(e.k_begin + e.k_len <= o.k_begin || o.k_begin + o.k_len <= e.k_begin) << "key rows shared";
                }
              }
            }
          }
          EXPECT_EQ(entries, expected);
        }
      }
  }
}

TEST(SdpaEntries, SharedQueryRowsAndDescendingKeysGoToSeparateLayers) {
  attn::SliceSet set;
  set.slices = {{0, 10, 50, 20, 100}, {0, 10, 0, 20, 100}, {10, 5, 30, 5, 100}};  // all fully visible
  for (const bool disjoint_keys : {false, true}) {
    const auto layers = attn::sdpa_layers(set, disjoint_keys);
    ASSERT_EQ(layers.size(), 2u) << "rows [0, 10) twice";
    EXPECT_EQ(layers[0].entries.size(), 2u) << "keys [0, 20) then [30, 35)";
    EXPECT_EQ(layers[0].max_q_len(), 10);
    EXPECT_EQ(layers[0].max_k_len(), 20);
  }
  set.slices = {{0, 10, 50, 20, 100}, {10, 5, 0, 5, 100}};  // later queries, earlier keys
  EXPECT_EQ(attn::sdpa_layers(set, false).size(), 2u);
  set.slices = {{0, 10, 0, 20, 100}, {10, 5, 10, 20, 100}};  // overlapping keys: one forward call, two backward
  EXPECT_EQ(attn::sdpa_layers(set, false).size(), 1u);
  EXPECT_EQ(attn::sdpa_layers(set, true).size(), 2u);
}
