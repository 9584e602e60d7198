// CUDA attention kernels end to end (one rank's generic executor over CudaKernels, fp32 and bf16
// operands, against the float64 reference per document) and the SIMT kernels against the host
// kernels slice by slice (every mask type: causal diagonal blocks and fully visible blocks of
// zigzag shards). ctest label `gpu`: reported as skipped where no CUDA device exists.
#include <gtest/gtest.h>

#include <random>
#include <tuple>
#include <vector>

#include "../random_batch.hpp"
#include "attn/compare.hpp"
#include "attn/cuda/cuda_backend.hpp"
#include "attn/cuda/device_attention.hpp"
#include "attn/executor_choice.hpp"
#include "attn/host_kernels.hpp"
#include "attn/local_tensors.hpp"
#include "attn/reference.hpp"
#include "attn/synthetic_inputs.hpp"
#include "comm/self_transport.hpp"
#include "device/inventory.hpp"
#include "sched/rank_program.hpp"
#include "sched/shard.hpp"

using namespace flexcp;
using attn::SyntheticTensor;
namespace cuda = flexcp::attn::cuda;

namespace {
// Why no device can run the tests, or "" after selecting device 0.
std::string no_device() {
  const auto inventory = device::cuda_inventory();
  if (inventory.devices.empty()) return inventory.why_none;
  device::select_device(0);
  return "";
}

// A whole batch on one rank through the generic executor over CudaKernels (what flexcp run does
// with run.backend = "cuda"), compared per document with the float64 reference: the kernels
// end to end, D = rowsum(dO * O) from their own O.
attn::Comparison whole_batch_errors(const sched::Batch& batch, const attn::HeadLayout& layout, cuda::Precision precision,
                                    std::uint64_t seed, cuda::AttentionEngine engine) {
  sched::GroupProgram program;
  program.members = {0};
  program.shards = {sched::zigzag_shards(batch, 1)[0]};
  program.member_whole_tokens = {0};
  program.receive_from.resize(1);
  program.serve_to.resize(1);
  cuda::CudaKernels kernels(precision == cuda::Precision::bf16 ? Element::bf16 : Element::fp32, engine);
  comm::SelfTransport transport(MemorySpace::device);
  auto executor = attn::make_group_attention(program, layout, transport, nullptr, kernels, "one-rank");
  auto t = attn::make_local_tensors(kernels, program.local(), batch.doc_offsets(), layout, seed);
  executor->forward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view());
  executor->backward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view(), t.dout.view(), t.dq.view(), t.dkv.view());
  attn::HostResults got;
  attn::append_results(kernels, t, got);  // one rank, zigzag over 1: the buffer is the batch in order
  const auto ref = attn::reference_attention(batch, layout, attn::synthetic_global_inputs(batch.total_tokens(), layout, seed));
  return attn::compare_with_reference(batch, layout, {got.out, got.dq, got.dk, got.dv}, ref);
}
}  // namespace

// Three random batches (each with a 1-token document) at three head layouts; `cudnn`: bf16
// through cuDNN's engine, else fp32 (automatic) and bf16 through flexcp's own kernels (tensor
// cores where they cover the layout, else SIMT).
static void check_whole_batches(bool cudnn) {
  std::mt19937_64 rng(17);
  const attn::HeadLayout layouts[] = {{4, 2, 16}, {8, 2, 64}, {32, 8, 128}};
  for (int trial = 0; trial < 3; ++trial) {
    auto batch = test_support::random_batch(rng, 5 + trial, 300);
    batch.doc_lengths.push_back(1);
    const auto own = cuda::tensor_cores_cover(layouts[trial], cuda::Precision::bf16) ? cuda::AttentionEngine::tensor_core
                                                                                     : cuda::AttentionEngine::simt;
    std::vector<std::tuple<cuda::Precision, cuda::AttentionEngine, double>> cases;
    if (cudnn) cases = {{cuda::Precision::bf16, cuda::AttentionEngine::cudnn, 3e-2}};
    else cases = {{cuda::Precision::fp32, cuda::AttentionEngine::automatic, 1e-4}, {cuda::Precision::bf16, own, 3e-2}};
    for (auto [precision, engine, tolerance] : cases) {
      const auto c = whole_batch_errors(batch, layouts[trial], precision, 40 + trial, engine);
      EXPECT_LT(c.worst(), tolerance) << c.describe(batch) << ", trial " << trial
                                      << (precision == cuda::Precision::bf16 ? " bf16 " : " fp32 ")
                                      << cuda::engine_name(engine);
    }
  }
}

TEST(DeviceKernels, WholeBatchesMatchFloat64ReferenceFp32AndBf16) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  check_whole_batches(false);
}

// Known to fail (GPU run 7, H200, 2026-11-27): cuDNN's path gave dK/dQ of 2-token documents off by
// 150-260% at head_dim 16 and 64 (the 128 trial passed); the engine is off by default until this
// passes. Run with --gtest_also_run_disabled_tests.
TEST(DeviceKernels, DISABLED_CudnnWholeBatchesMatchFloat64Reference) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  check_whole_batches(true);
}

// Partial blocks as the executors use them: rank r's queries against rank m's keys of zigzag
// shards (diagonal causal slices and fully visible ones), compared with the host kernels.
TEST(DeviceKernels, PartialBlocksMatchHostKernels) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  std::mt19937_64 rng(23);
  const attn::HeadLayout layout{8, 2, 32};
  const auto batch = test_support::random_batch(rng, 8, 200);
  const auto offsets = batch.doc_offsets();
  const int p = 3;
  const auto shards = sched::zigzag_shards(batch, p);
  for (int r = 0; r < p; ++r)
    for (int m = 0; m < p; ++m) {
      const auto slices = attn::build_slices(shards[r], shards[m]);
      const auto tq = shards[r].tokens(), tk = shards[m].tokens();
      auto q = attn::make_tensor("q", tq, layout.q_heads, layout.head_dim);
      auto kv = attn::make_flat("kv", attn::kv_floats(tk, layout));
      const auto kvr = attn::kv_refs(kv.data(), tk, layout.kv_heads, layout.head_dim);
      attn::fill_synthetic(attn::ref(q), shards[r], offsets, 5, SyntheticTensor::query);
      attn::fill_synthetic(kvr.k, shards[m], offsets, 5, SyntheticTensor::key);
      attn::fill_synthetic(kvr.v, shards[m], offsets, 5, SyntheticTensor::value);
      auto out = attn::make_tensor("out", tq, layout.q_heads, layout.head_dim);
      auto lse = attn::make_row_stats("lse", tq, layout.q_heads);
      attn::forward_partial(layout, slices, attn::ref(q), kvr.k, kvr.v, attn::ref(out), attn::ref(lse));

      cuda::DeviceSliceSet device_slices(slices);
      auto dq_in = device::DeviceBuffer::from("q", std::vector<float>(q.data(), q.data() + q.size()));
      auto dkv_in = device::DeviceBuffer::from("kv", std::vector<float>(kv.data(), kv.data() + kv.size()));
      device::DeviceBuffer dout_buf("out", q.size() * sizeof(float)), dlse("lse", lse.size() * sizeof(float));
      const auto* k_dev = static_cast<const float*>(dkv_in.data());
      cuda::forward_partial(layout, device_slices, cuda::Precision::fp32, {dq_in.data(), tq}, {k_dev, tk},
                            {k_dev + kv.size() / 2, tk}, static_cast<float*>(dout_buf.data()), static_cast<float*>(dlse.data()));
      std::vector<float> got(q.size()), got_lse(lse.size());
      dout_buf.download(got.data(), got.size() * sizeof(float));
      dlse.download(got_lse.data(), got_lse.size() * sizeof(float));
      for (std::size_t i = 0; i < got_lse.size(); ++i) {
        const float want = lse.data()[i];
        if (std::isinf(want)) EXPECT_TRUE(std::isinf(got_lse[i]) && got_lse[i] < 0) << "row " << i;
        else EXPECT_NEAR(got_lse[i], want, 1e-4f * std::max(1.0f, std::abs(want))) << "r " << r << " m " << m;
      }
      std::vector<double> want(out.data(), out.data() + out.size());
      EXPECT_LT(attn::relative_error(got, want), 1e-5) << "O, queries of " << r << " vs keys of " << m;
    }
}
