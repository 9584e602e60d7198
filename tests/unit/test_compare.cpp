// The correctness verdict is per document: a slightly wrong short document inside a long batch
// fails even when the whole-tensor error is below the tolerance; a document whose gradients are
// exactly zero (one token) is judged against the tensor's scale, not against zero.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "attn/compare.hpp"

using namespace flexcp;

namespace {
const attn::HeadLayout kLayout{2, 1, 4};

// Reference values in [-1, 1) and results equal to them in fp32.
struct Case {
  sched::Batch batch;
  attn::ReferenceResult ref;
  attn::GlobalResults got;
};

Case make_case(std::vector<std::int64_t> lengths) {
  Case c;
  c.batch.doc_lengths = std::move(lengths);
  const auto tokens = static_cast<std::size_t>(c.batch.total_tokens());
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  auto fill = [&](std::vector<double>& ref, std::vector<float>& got, std::size_t n) {
    ref.resize(n);
    for (auto& x : ref) x = value(rng);
    got.assign(ref.begin(), ref.end());
  };
  const std::size_t q = tokens * kLayout.q_heads * kLayout.head_dim, kv = tokens * kLayout.kv_heads * kLayout.head_dim;
  fill(c.ref.out, c.got.out, q);
  fill(c.ref.dq, c.got.dq, q);
  fill(c.ref.dk, c.got.dk, kv);
  fill(c.ref.dv, c.got.dv, kv);
  return c;
}

std::size_t first_element(const sched::Batch& batch, std::size_t doc, std::int64_t width) {
  return static_cast<std::size_t>(batch.doc_offsets()[doc] * width);
}
}  // namespace

TEST(Compare, ASlightlyWrongShortDocumentInALongBatchFails) {
  auto c = make_case({30000, 100, 30000});
  const std::int64_t width = kLayout.kv_heads * kLayout.head_dim;
  // dK of the 100-token document off by 0.2%: ~8e-5 of the whole tensor, 2e-3 of the document.
  const auto begin = first_element(c.batch, 1, width);
  for (std::size_t i = begin; i < begin + 100 * width; ++i) c.got.dk[i] = static_cast<float>(c.ref.dk[i] * 1.002);
  const auto r = attn::compare_with_reference(c.batch, kLayout, c.got, c.ref);
  EXPECT_LT(r.dk.whole, 1e-4) << "the whole-tensor norm would have passed it";
  EXPECT_NEAR(r.worst(), 2e-3, 1e-4);
  EXPECT_EQ(r.worst_document(), 1);
  EXPECT_STREQ(r.worst_tensor(), "dK");
  EXPECT_NE(r.describe(c.batch).find("dK of document 1 (100 tokens)"), std::string::npos) << r.describe(c.batch);
}

TEST(Compare, ExactResultsHaveOnlyRoundingError) {
  const auto c = make_case({5, 1, 64, 3});
  const auto r = attn::compare_with_reference(c.batch, kLayout, c.got, c.ref);
  EXPECT_LT(r.worst(), 1e-7);  // fp32 rounding of the reference values
}

TEST(Compare, AZeroGradientDocumentIsJudgedAgainstTheTensorScale) {
  auto c = make_case({50, 1, 50});
  const std::int64_t width = kLayout.q_heads * kLayout.head_dim;
  const auto begin = first_element(c.batch, 1, width);
  for (std::size_t i = begin; i < begin + static_cast<std::size_t>(width); ++i) {
    c.ref.dq[i] = 0.0;  // a 1-token document: dQ is exactly zero
    c.got.dq[i] = 1e-8f;  // rounding noise
  }
  EXPECT_LT(attn::compare_with_reference(c.batch, kLayout, c.got, c.ref).worst(), 1e-6);
  for (std::size_t i = begin; i < begin + static_cast<std::size_t>(width); ++i) c.got.dq[i] = 0.5f;  // garbage
  const auto r = attn::compare_with_reference(c.batch, kLayout, c.got, c.ref);
  EXPECT_GT(r.worst(), 1.0);
  EXPECT_EQ(r.worst_document(), 1);
}

TEST(Compare, NanAnywhereFailsAsInfinity) {
  auto c = make_case({7, 9});
  c.got.dv[3] = std::numeric_limits<float>::quiet_NaN();
  const auto r = attn::compare_with_reference(c.batch, kLayout, c.got, c.ref);
  EXPECT_TRUE(std::isinf(r.worst()));
  EXPECT_TRUE(std::isinf(r.dv.whole));
  EXPECT_EQ(r.worst_document(), 0);
}
