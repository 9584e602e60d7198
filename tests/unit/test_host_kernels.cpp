// The host kernels against the float64 reference, in one process. The "serial ring" test runs
// exactly the block decomposition the MPI ring uses (queries of one shard against the KV of
// every shard, partial outputs merged by log-sum-exp, dK/dV accumulated per owner) without MPI,
// so a kernel or merge bug is caught here before any MPI test runs.
#include <gtest/gtest.h>

#include <random>

#include "../random_batch.hpp"
#include "attn/compare.hpp"
#include "attn/host_kernels.hpp"
#include "attn/reference.hpp"
#include "attn/slice.hpp"
#include "attn/synthetic_inputs.hpp"
#include "sched/shard.hpp"

using namespace flexcp;
using attn::SyntheticTensor;

namespace {
constexpr double kTolerance = 1e-4;  // worst per-document relative error, fp32 kernels vs float64

using Scattered = attn::GlobalResults;  // a distributed result reassembled in global token order

Scattered serial_ring(const sched::Batch& batch, const attn::HeadLayout& layout, int group, std::uint64_t seed,
                      attn::KernelTiling tiling) {
  const auto shards = sched::zigzag_shards(batch, group);
  const auto offsets = batch.doc_offsets();
  const auto total = batch.total_tokens();
  const int hq = layout.q_heads, hkv = layout.kv_heads, d = layout.head_dim;
  struct Local {
    attn::Tensor3 q, k, v, dout, out, dq, dk, dv, part;
    attn::Tensor2 lse, part_lse, rowsum;
  };
  std::vector<Local> ranks(static_cast<std::size_t>(group));
  for (int r = 0; r < group; ++r) {
    auto& l = ranks[r];
    const auto t = shards[r].tokens();
    l.q = attn::make_tensor("q", t, hq, d);
    l.dout = attn::make_tensor("dout", t, hq, d);
    l.k = attn::make_tensor("k", t, hkv, d);
    l.v = attn::make_tensor("v", t, hkv, d);
    attn::fill_synthetic(attn::ref(l.q), shards[r], offsets, seed, SyntheticTensor::query);
    attn::fill_synthetic(attn::ref(l.k), shards[r], offsets, seed, SyntheticTensor::key);
    attn::fill_synthetic(attn::ref(l.v), shards[r], offsets, seed, SyntheticTensor::value);
    attn::fill_synthetic(attn::ref(l.dout), shards[r], offsets, seed, SyntheticTensor::output_grad);
    l.out = attn::make_tensor("out", t, hq, d);
    l.part = attn::make_tensor("part", t, hq, d);
    l.dq = attn::make_tensor("dq", t, hq, d);
    l.dk = attn::make_tensor("dk", t, hkv, d);
    l.dv = attn::make_tensor("dv", t, hkv, d);
    l.lse = attn::make_row_stats("lse", t, hq);
    l.part_lse = attn::make_row_stats("part_lse", t, hq);
    l.rowsum = attn::make_row_stats("rowsum", t, hq);
    Kokkos::deep_copy(l.lse, -std::numeric_limits<float>::infinity());
  }
  for (int r = 0; r < group; ++r)
    for (int o = 0; o < group; ++o) {
      const auto slices = attn::build_slices(shards[r], shards[o]);
      attn::forward_partial(layout, slices, attn::ref(ranks[r].q), attn::ref(ranks[o].k), attn::ref(ranks[o].v),
                            attn::ref(ranks[r].part), attn::ref(ranks[r].part_lse), tiling);
      attn::merge_partial(attn::ref(ranks[r].out), attn::ref(ranks[r].lse), attn::ref(ranks[r].part),
                          attn::ref(ranks[r].part_lse));
    }
  for (int r = 0; r < group; ++r) {
    attn::softmax_backward_rowsum(attn::ref(ranks[r].out), attn::ref(ranks[r].dout), attn::ref(ranks[r].rowsum));
    for (int o = 0; o < group; ++o) {
      const auto slices = attn::build_slices(shards[r], shards[o]);
      attn::backward_accumulate(layout, slices, attn::ref(ranks[r].q), attn::ref(ranks[o].k), attn::ref(ranks[o].v),
                                attn::ref(ranks[r].dout), attn::ref(ranks[r].lse), attn::ref(ranks[r].rowsum),
                                attn::ref(ranks[r].dq), attn::ref(ranks[o].dk), attn::ref(ranks[o].dv), tiling);
    }
  }
  Scattered g{std::vector<float>(total * hq * d), std::vector<float>(total * hq * d), std::vector<float>(total * hkv * d),
              std::vector<float>(total * hkv * d)};
  for (int r = 0; r < group; ++r)
    for (const auto& seg : shards[r].segments)
      for (std::int64_t i = 0; i < seg.length; ++i) {
        const auto global = offsets[seg.doc] + seg.pos_begin + i, local = seg.local_begin + i;
        for (int e = 0; e < hq * d; ++e) {
          g.out[global * hq * d + e] = ranks[r].out.data()[local * hq * d + e];
          g.dq[global * hq * d + e] = ranks[r].dq.data()[local * hq * d + e];
        }
        for (int e = 0; e < hkv * d; ++e) {
          g.dk[global * hkv * d + e] = ranks[r].dk.data()[local * hkv * d + e];
          g.dv[global * hkv * d + e] = ranks[r].dv.data()[local * hkv * d + e];
        }
      }
  return g;
}

// The one correctness harness (attn/compare.hpp): worst per-document error of O, dQ, dK, dV.
void expect_matches(const sched::Batch& batch, const attn::HeadLayout& layout, const Scattered& got, std::uint64_t seed,
                    const std::string& what) {
  const auto ref = attn::reference_attention(batch, layout, attn::synthetic_global_inputs(batch.total_tokens(), layout, seed));
  const auto c = attn::compare_with_reference(batch, layout, got, ref);
  EXPECT_LT(c.worst(), kTolerance) << what << ": " << c.describe(batch);
}
}  // namespace

TEST(HostKernels, SingleBlockMatchesFloat64Reference) {
  const attn::HeadLayout layout{4, 2, 16};
  const sched::Batch batch{{1, 37, 2, 90, 5}};
  expect_matches(batch, layout, serial_ring(batch, layout, 1, 11, {}), 11, "P=1");
}

// Property: random batches, group sizes 1..7, several head layouts and tile shapes (tiles
// smaller than, equal to and larger than segments), always within tolerance of float64.
TEST(HostKernels, SerialRingMatchesReferenceOnRandomBatches) {
  std::mt19937_64 rng(2024);
  const attn::HeadLayout layouts[] = {{4, 2, 16}, {3, 1, 8}, {2, 2, 32}};
  const attn::KernelTiling tilings[] = {{32, 64}, {5, 3}, {1, 1}};
  for (int trial = 0; trial < 18; ++trial) {
    const auto& layout = layouts[trial % 3];
    const auto batch = test_support::random_batch(rng, 2 + trial % 6, 140);
    const int group = 1 + trial % 7;
    const auto seed = static_cast<std::uint64_t>(trial) + 100;
    expect_matches(batch, layout, serial_ring(batch, layout, group, seed, tilings[trial % 3]), seed,
                   "trial " + std::to_string(trial) + " P=" + std::to_string(group));
  }
}

TEST(HostKernels, MergeIsExactWhenOneSideIsEmpty) {
  auto out = attn::make_tensor("o", 1, 1, 2), part = attn::make_tensor("p", 1, 1, 2);
  auto lse = attn::make_row_stats("l", 1, 1), part_lse = attn::make_row_stats("pl", 1, 1);
  lse(0, 0) = -std::numeric_limits<float>::infinity();
  part(0, 0, 0) = 3.0f;
  part(0, 0, 1) = -1.0f;
  part_lse(0, 0) = 0.5f;
  attn::merge_partial(attn::ref(out), attn::ref(lse), attn::ref(part), attn::ref(part_lse));
  EXPECT_FLOAT_EQ(out(0, 0, 0), 3.0f);
  EXPECT_FLOAT_EQ(out(0, 0, 1), -1.0f);
  EXPECT_FLOAT_EQ(lse(0, 0), 0.5f);
  part_lse(0, 0) = -std::numeric_limits<float>::infinity();  // an empty block changes nothing
  attn::merge_partial(attn::ref(out), attn::ref(lse), attn::ref(part), attn::ref(part_lse));
  EXPECT_FLOAT_EQ(lse(0, 0), 0.5f);
}

TEST(Reference, RelativeErrorRejectsNaN) {
  EXPECT_EQ(attn::relative_error({1.0f, std::nanf("")}, {1.0, 1.0}), std::numeric_limits<double>::infinity());
  EXPECT_NEAR(attn::relative_error({1.0f, 1.0f}, {1.0, 2.0}), 1.0 / std::sqrt(5.0), 1e-12);
}
