// The tensor-core kernels (bf16 mma.sync) and cuDNN's fused attention (the bf16 engine of
// CudaKernels, through cudnn_attention.hpp) against the float64 reference of the same bf16 inputs,
// and against the host kernels on the partial blocks the executors use; the SIMT kernels on the
// same inputs as a check of the check. Every tile variant, head dims 64 and 128, grouped-query
// layouts from MHA to MQA, documents whose lengths straddle every tile boundary, peaky softmax
// (large scores), and rows that see no key. ctest label `gpu`: skipped where no device exists.
//
// Tolerances (per-document relative error, attn/compare.hpp): the tensor-core kernels round
// P and dS to bf16 before their second products (as FlashAttention does), about 2^-9 relative
// per element: 1.5e-2 for O, 2.5e-2 for gradients. The SIMT kernels compute in fp32: 1e-4.
// The backward gets D = rowsum(dO * O) of the reference O (device_case.hpp says why); the
// end-to-end path, D from the kernels' own O, is checked in test_device_kernels.cpp. cuDNN gets
// the tensor-core tolerances: it rounds P and dS to bf16 too, and stores O, dQ, dK, dV in bf16.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "../random_batch.hpp"
#include "attn/compare.hpp"
#include "attn/host_kernels.hpp"
#include "attn/reference.hpp"
#include "device/inventory.hpp"
#include "device_case.hpp"
#include "sched/shard.hpp"

using namespace flexcp;
using gpu_test::cuda::KernelConfig;
using gpu_test::cuda::KernelPath;
using gpu_test::cuda::Precision;

namespace {
std::string no_device() {
  const auto inventory = device::cuda_inventory();
  if (inventory.devices.empty()) return inventory.why_none;
  device::select_device(0);
  return "";
}

struct Tolerance {
  double out, grads, lse, out_row;
};
constexpr Tolerance kTensorCore{1.5e-2, 2.5e-2, 2e-3, 5e-2};
constexpr Tolerance kSimt{1e-4, 1e-4, 1e-4, 1e-3};

const KernelConfig kTensorCoreVariants[] = {
    {KernelPath::tensor_core, 128, 64, 16}, {KernelPath::tensor_core, 64, 32, 16},
    {KernelPath::tensor_core, 128, 32, 32}, {KernelPath::tensor_core, 64, 64, 16}, {KernelPath::tensor_core, 0, 32, 0}};

std::string cuda_path(const KernelConfig& c) {
  return std::string(gpu_test::cuda::kernel_path_name(c.path)) + " (forward tile " + std::to_string(c.forward_query_tile) +
         " x" + std::to_string(c.forward_rows_per_warp) + " rows per warp, backward block " +
         std::to_string(c.backward_query_block) + ")";
}

std::string label(const attn::HeadLayout& layout, const std::string& engine) {
  return "H_q " + std::to_string(layout.q_heads) + " H_kv " + std::to_string(layout.kv_heads) + " d " +
         std::to_string(layout.head_dim) + " " + engine;
}

// Each case runs once per family: TensorCoreKernels.* (every tile variant, and the SIMT check of
// the check) and CudnnKernels.* (cuDNN's engine, selected explicitly: off by default, see cuda_backend.cpp).
// `accurate_out` is cuDNN's source of D.
enum class Family { tensor_core, cudnn };
using Run = std::pair<std::string, std::function<gpu_test::DeviceResults()>>;
template <class Out>
std::vector<Run> bf16_engines(Family family, const attn::HeadLayout& layout, const attn::SliceSet& slices, std::int64_t tq,
                              std::int64_t tk, const gpu_test::HostTensors& in, const std::vector<float>& rowsum,
                              const Out& accurate_out) {
  std::vector<Run> runs;
  if (family == Family::tensor_core && gpu_test::cuda::tensor_cores_cover(layout, Precision::bf16))
    for (const auto& variant : kTensorCoreVariants)
      runs.emplace_back(cuda_path(variant), [&, variant, tq, tk] {
        return gpu_test::run_on_device(layout, slices, tq, tk, in, rowsum, Precision::bf16, variant);
      });
  if (family == Family::cudnn && gpu_test::cuda::CudnnAttention::covers(layout))
    runs.emplace_back("cudnn (fused attention)",
                      [&, tq, tk] { return gpu_test::run_on_cudnn(layout, slices, tq, tk, in, accurate_out); });
  return runs;
}

// Whole batches in one buffer (the rank of a group of one): every kernel variant against the
// float64 reference of the same bf16 values, document by document.
void expect_whole_batch_matches(Family family, const sched::Batch& batch, const attn::HeadLayout& layout,
                                std::uint64_t seed, float input_scale) {
  const auto tokens = batch.total_tokens();
  const auto in = gpu_test::random_inputs(tokens, tokens, layout, seed, input_scale);
  const auto shard = sched::zigzag_shards(batch, 1)[0];
  const auto slices = attn::build_slices(shard, shard);
  const auto ref = attn::reference_attention(batch, layout, {in.q, in.k, in.v, in.dout});

  const auto rowsum = gpu_test::rowsum_of(ref.out, in.dout, layout.head_dim);
  auto check = [&](const std::string& engine, const gpu_test::DeviceResults& got, const Tolerance& tol) {
    const auto c = attn::compare_with_reference(batch, layout, {got.out, got.dq, got.dk, got.dv}, ref);
    const auto o_rows = gpu_test::compare_rows(got.out, ref.out, layout.head_dim);
    std::size_t lse_row = 0;
    const double lse = gpu_test::worst_lse(got.lse, ref.lse, &lse_row);
    // One line per variant whatever the outcome: the figures the notes quote.
    std::printf("[ errors   ] %s, %lld tokens, %zu documents, input scale %.0f: O %.2e (row %.2e) dQ %.2e dK %.2e "
                "dV %.2e lse %.2e\n",
                label(layout, engine).c_str(), static_cast<long long>(tokens), batch.doc_lengths.size(),
                static_cast<double>(input_scale), c.out.worst, o_rows.worst, c.dq.worst, c.dk.worst, c.dv.worst, lse);
    EXPECT_LT(c.out.worst, tol.out) << label(layout, engine) << ": " << c.describe(batch);
    EXPECT_LT(o_rows.worst, tol.out_row) << label(layout, engine) << ": O row " << o_rows.worst_document;
    for (const auto* grad : {&c.dq, &c.dk, &c.dv})
      EXPECT_LT(grad->worst, tol.grads) << label(layout, engine) << ": " << c.describe(batch);
    EXPECT_LT(lse, tol.lse) << label(layout, engine) << ": lse row " << lse_row << " got " << got.lse[lse_row]
                            << " want " << ref.lse[lse_row];
  };
  if (family == Family::tensor_core) {
    const KernelConfig simt{KernelPath::simt, 128, 64};
    check(cuda_path(simt), gpu_test::run_on_device(layout, slices, tokens, tokens, in, rowsum, Precision::bf16, simt), kSimt);
  }
  for (const auto& [engine, run] : bf16_engines(family, layout, slices, tokens, tokens, in, rowsum, ref.out))
    check(engine, run(), kTensorCore);
}

// Lengths on both sides of every tile edge (16-row warp tiles, 64-key blocks, 64/128-row query
// tiles), a single token, and one long document.
sched::Batch tile_edge_batch() { return sched::Batch{{1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200, 700}}; }

void tile_edge_documents(Family family) { expect_whole_batch_matches(family, tile_edge_batch(), {32, 8, 128}, 11, 1.0f); }

void grouped_query_layouts(Family family) {
  std::mt19937_64 rng(29);
  const attn::HeadLayout layouts[] = {{8, 8, 64}, {8, 1, 128}, {4, 2, 64}, {6, 3, 128}};
  std::uint64_t seed = 100;
  for (const auto& layout : layouts) {
    auto batch = test_support::random_batch(rng, 9, 400);
    batch.doc_lengths.push_back(129);
    expect_whole_batch_matches(family, batch, layout, seed++, 1.0f);
  }
}

// Scores of tens (inputs scaled by 6 at d = 128): the online softmax must rescale without
// overflow and keep the tiny probabilities' gradients.
void peaky_softmax(Family family) { expect_whole_batch_matches(family, sched::Batch{{300, 5, 190, 64}}, {8, 2, 128}, 7, 6.0f); }

// Partial blocks as the executors use them: queries of zigzag shard r against the keys of shard m
// (causal diagonal slices and fully visible ones), forward and backward, against the host
// kernels on the same bf16 values.
void partial_blocks(Family family) {
  std::mt19937_64 rng(31);
  const attn::HeadLayout layout{8, 2, 128};
  const auto batch = test_support::random_batch(rng, 10, 500);
  const int p = 3;
  const auto shards = sched::zigzag_shards(batch, p);
  for (int r = 0; r < p; ++r)
    for (int m = 0; m < p; ++m) {
      const auto slices = attn::build_slices(shards[r], shards[m]);
      const auto tq = shards[r].tokens(), tk = shards[m].tokens();
      const auto in = gpu_test::random_inputs(tq, tk, layout, 50 + 3 * r + m);
      auto q = in.q, k = in.k, v = in.v, dout = in.dout;  // the host kernels take mutable refs
      std::vector<float> out(q.size()), lse(static_cast<std::size_t>(tq * layout.q_heads)), rowsum(lse.size());
      attn::forward_partial(layout, slices, {q.data(), tq, layout.q_heads, layout.head_dim},
                            {k.data(), tk, layout.kv_heads, layout.head_dim}, {v.data(), tk, layout.kv_heads, layout.head_dim},
                            {out.data(), tq, layout.q_heads, layout.head_dim}, {lse.data(), tq, layout.q_heads});
      attn::softmax_backward_rowsum({out.data(), tq, layout.q_heads, layout.head_dim},
                                    {dout.data(), tq, layout.q_heads, layout.head_dim}, {rowsum.data(), tq, layout.q_heads});
      std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
      attn::backward_accumulate(layout, slices, {q.data(), tq, layout.q_heads, layout.head_dim},
                                {k.data(), tk, layout.kv_heads, layout.head_dim},
                                {v.data(), tk, layout.kv_heads, layout.head_dim},
                                {dout.data(), tq, layout.q_heads, layout.head_dim}, {lse.data(), tq, layout.q_heads},
                                {rowsum.data(), tq, layout.q_heads}, {dq.data(), tq, layout.q_heads, layout.head_dim},
                                {dk.data(), tk, layout.kv_heads, layout.head_dim},
                                {dv.data(), tk, layout.kv_heads, layout.head_dim});
      for (const auto& [engine, run] : bf16_engines(family, layout, slices, tq, tk, in, rowsum, out)) {
        const auto got = run();
        const auto where = label(layout, engine) + ", queries of shard " + std::to_string(r) + ", keys of shard " +
                           std::to_string(m);
        std::size_t row = 0;
        EXPECT_LT(gpu_test::worst_lse(got.lse, lse, &row), kTensorCore.lse) << where << ": lse row " << row;
        EXPECT_LT(gpu_test::compare_block(got.out, out, tq).worst, kTensorCore.out) << where << ": O";
        EXPECT_LT(gpu_test::compare_block(got.dq, dq, tq).worst, kTensorCore.grads) << where << ": dQ";
        EXPECT_LT(gpu_test::compare_block(got.dk, dk, tk).worst, kTensorCore.grads) << where << ": dK";
        EXPECT_LT(gpu_test::compare_block(got.dv, dv, tk).worst, kTensorCore.grads) << where << ": dV";
      }
    }
}

// Hand-made slices the zigzag never produces: queries that start before their keys (the first
// rows see nothing: O = 0 and lse = -inf exactly), keys offset inside a larger KV buffer, two
// slices of one query segment (one causal with an offset, one fully visible whose key count is
// no tile multiple), and rows in no segment at all.
void rows_without_keys_and_offset_slices(Family family) {
  const attn::HeadLayout layout{4, 1, 64};
  attn::SliceSet set;
  // Segment A, query rows [0, 150) against keys [40, 160): query i sees key j iff j <= i - 30.
  set.slices.push_back({0, 150, 40, 120, -30});
  set.by_query.push_back({0, 150, {0}});
  // Segment B, rows [150, 230): keys [160, 250) causally with diag 10, and all 77 keys of [250, 327).
  set.slices.push_back({150, 80, 160, 90, 10});
  set.slices.push_back({150, 80, 250, 77, 76});
  set.by_query.push_back({150, 80, {1, 2}});
  set.by_key.push_back({40, 120, {0}});
  set.by_key.push_back({160, 90, {1}});
  set.by_key.push_back({250, 77, {2}});
  const std::int64_t tq = 260, tk = 330;  // query rows [230, 260) are in no segment
  const auto in = gpu_test::random_inputs(tq, tk, layout, 77);
  auto q = in.q, k = in.k, v = in.v, dout = in.dout;
  std::vector<float> out(q.size()), lse(static_cast<std::size_t>(tq * layout.q_heads)), rowsum(lse.size());
  attn::forward_partial(layout, set, {q.data(), tq, 4, 64}, {k.data(), tk, 1, 64}, {v.data(), tk, 1, 64},
                        {out.data(), tq, 4, 64}, {lse.data(), tq, 4});
  attn::softmax_backward_rowsum({out.data(), tq, 4, 64}, {dout.data(), tq, 4, 64}, {rowsum.data(), tq, 4});
  std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attn::backward_accumulate(layout, set, {q.data(), tq, 4, 64}, {k.data(), tk, 1, 64}, {v.data(), tk, 1, 64},
                            {dout.data(), tq, 4, 64}, {lse.data(), tq, 4}, {rowsum.data(), tq, 4}, {dq.data(), tq, 4, 64},
                            {dk.data(), tk, 1, 64}, {dv.data(), tk, 1, 64});
  ASSERT_TRUE(std::isinf(lse[0]) && lse[0] < 0 && std::isinf(lse[240 * 4]) && std::isfinite(lse[30 * 4]))
      << "the host kernels' rows without keys are where this test expects them";
  for (const auto& [engine, run] : bf16_engines(family, layout, set, tq, tk, in, rowsum, out)) {
    const auto got = run();
    std::size_t row = 0;
    EXPECT_LT(gpu_test::worst_lse(got.lse, lse, &row), kTensorCore.lse) << engine << ": lse row " << row;
    for (std::size_t e = 0; e < 30 * 4 * 64; ++e) ASSERT_EQ(got.out[e], 0.0f) << "row without keys, element " << e;
    for (std::size_t e = 230 * 4 * 64; e < got.out.size(); ++e) ASSERT_EQ(got.out[e], 0.0f) << "row in no segment";
    EXPECT_LT(gpu_test::compare_block(got.out, out, tq).worst, kTensorCore.out) << engine << ": O";
    EXPECT_LT(gpu_test::compare_block(got.dq, dq, tq).worst, kTensorCore.grads) << engine << ": dQ";
    EXPECT_LT(gpu_test::compare_block(got.dk, dk, tk).worst, kTensorCore.grads) << engine << ": dK";
    EXPECT_LT(gpu_test::compare_block(got.dv, dv, tk).worst, kTensorCore.grads) << engine << ": dV";
  }
}

}  // namespace

#define FLEXCP_FAMILY_TEST(name, body)                                                             \
  TEST(TensorCoreKernels, name) {                                                                  \
    if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;    \
    body(Family::tensor_core);                                                                      \
  }                                                                                                \
  TEST(CudnnKernels, name) {                                                                       \
    if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;    \
    body(Family::cudnn);                                                                            \
  }
FLEXCP_FAMILY_TEST(TileEdgeDocumentsMatchFloat64ReferenceAtHeadDim128, tile_edge_documents)
FLEXCP_FAMILY_TEST(GroupedQueryLayoutsMatchFloat64Reference, grouped_query_layouts)
FLEXCP_FAMILY_TEST(PeakySoftmaxStaysAccurate, peaky_softmax)
// Known to fail through cuDNN (GPU run 7, H200, 2026-11-27: lse off by 1.45 on a row of a partial
// zigzag block, O and gradients by 18-26%): the engine is off by default until this passes.
TEST(TensorCoreKernels, PartialBlocksMatchHostKernels) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  partial_blocks(Family::tensor_core);
}
TEST(CudnnKernels, DISABLED_PartialBlocksMatchHostKernels) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  partial_blocks(Family::cudnn);
}
FLEXCP_FAMILY_TEST(RowsWithoutVisibleKeysAndOffsetSlices, rows_without_keys_and_offset_slices)

// Plans are cached per device by graph dims (entry count, longest entry rounded up to a power of
// two, ...): the same slices again, or slices of the same rounded shape, build no new plan.
TEST(CudnnKernels, EqualShapesReuseTheirPlans) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  const attn::HeadLayout layout{8, 2, 64};
  auto run = [&](const sched::Batch& batch) {
    const auto tokens = batch.total_tokens();
    const auto shard = sched::zigzag_shards(batch, 1)[0];
    const auto in = gpu_test::random_inputs(tokens, tokens, layout, 5);
    gpu_test::run_on_cudnn(layout, attn::build_slices(shard, shard), tokens, tokens, in, in.dout);  // any O will do
    return gpu_test::cuda::CudnnAttention(nullptr).plans();
  };
  const auto plans = run(sched::Batch{{100, 37}});
  EXPECT_GE(plans, 2u) << "a forward and a backward plan";
  EXPECT_EQ(run(sched::Batch{{100, 37}}), plans);
  EXPECT_EQ(run(sched::Batch{{120, 50}}), plans) << "two causal entries of at most 128 rows again";
}

// Outside their cover the tensor-core kernels refuse with a message instead of computing garbage.
TEST(TensorCoreKernels, RefuseShapesTheyDoNotCover) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  const attn::HeadLayout layout{4, 2, 32};
  const sched::Batch batch{{40}};
  const auto shard = sched::zigzag_shards(batch, 1)[0];
  const auto in = gpu_test::random_inputs(40, 40, layout, 3);
  const std::vector<float> rowsum(40 * 4, 0.0f);
  EXPECT_THROW(gpu_test::run_on_device(layout, attn::build_slices(shard, shard), 40, 40, in, rowsum, Precision::bf16,
                                       {KernelPath::tensor_core, 128, 64}),
               std::exception);
  EXPECT_FALSE(gpu_test::cuda::tensor_cores_cover({4, 2, 128}, Precision::fp32));
  EXPECT_TRUE(gpu_test::cuda::tensor_cores_cover({32, 8, 128}, Precision::bf16));
}
