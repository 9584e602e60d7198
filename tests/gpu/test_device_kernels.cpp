// CUDA attention kernels against the float64 single-process reference (whole batches, forward
// and backward, fp32 and bf16 storage) and against the host kernels slice by slice (every mask
// type: causal diagonal blocks and fully visible blocks of zigzag shards). ctest label `gpu`:
// reported as skipped where no CUDA device exists.
#include <gtest/gtest.h>

#include <random>

#include "../random_batch.hpp"
#include "attn/cuda/device_attention.hpp"
#include "attn/cuda/device_local_attention.hpp"
#include "device/inventory.hpp"
#include "attn/host_kernels.hpp"
#include "attn/reference.hpp"
#include "attn/synthetic_inputs.hpp"
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

std::vector<double> whole_batch_errors(const sched::Batch& batch, const attn::HeadLayout& layout, cuda::Precision precision,
                                       std::uint64_t seed) {
  const auto shard = sched::zigzag_shards(batch, 1)[0];
  const auto t = shard.tokens();
  const auto offsets = batch.doc_offsets();
  auto q = attn::make_tensor("q", t, layout.q_heads, layout.head_dim);
  auto dout = attn::make_tensor("dout", t, layout.q_heads, layout.head_dim);
  auto kv = attn::make_flat("kv", attn::kv_floats(t, layout));
  const auto kvr = attn::kv_refs(kv.data(), t, layout.kv_heads, layout.head_dim);
  attn::fill_synthetic(attn::ref(q), shard, offsets, seed, SyntheticTensor::query);
  attn::fill_synthetic(kvr.k, shard, offsets, seed, SyntheticTensor::key);
  attn::fill_synthetic(kvr.v, shard, offsets, seed, SyntheticTensor::value);
  attn::fill_synthetic(attn::ref(dout), shard, offsets, seed, SyntheticTensor::output_grad);
  auto out = attn::make_tensor("out", t, layout.q_heads, layout.head_dim);
  auto dq = attn::make_tensor("dq", t, layout.q_heads, layout.head_dim);
  auto lse = attn::make_row_stats("lse", t, layout.q_heads);
  auto dkv = attn::make_flat("dkv", attn::kv_floats(t, layout));
  cuda::DeviceLocalAttention device(shard, layout, precision);
  device.forward(q, kv, out, lse);
  device.backward(q, kv, out, lse, dout, dq, dkv);

  const auto total = batch.total_tokens();  // one rank, zigzag over 1: the buffer is the batch in order
  attn::GlobalTensors in{attn::synthetic_global(total, layout.q_heads, layout.head_dim, seed, SyntheticTensor::query),
                         attn::synthetic_global(total, layout.kv_heads, layout.head_dim, seed, SyntheticTensor::key),
                         attn::synthetic_global(total, layout.kv_heads, layout.head_dim, seed, SyntheticTensor::value),
                         attn::synthetic_global(total, layout.q_heads, layout.head_dim, seed, SyntheticTensor::output_grad)};
  const auto ref = attn::reference_attention(batch, layout, in);
  const auto half = static_cast<std::size_t>(attn::kv_floats(t, layout) / 2);
  auto as_vector = [](const float* p, std::size_t n) { return std::vector<float>(p, p + n); };
  return {attn::relative_error(as_vector(out.data(), out.size()), ref.out),
          attn::relative_error(as_vector(dq.data(), dq.size()), ref.dq),
          attn::relative_error(as_vector(dkv.data(), half), ref.dk),
          attn::relative_error(as_vector(dkv.data() + half, half), ref.dv)};
}
}  // namespace

TEST(DeviceKernels, WholeBatchesMatchFloat64ReferenceFp32AndBf16) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  std::mt19937_64 rng(17);
  const attn::HeadLayout layouts[] = {{4, 2, 16}, {8, 2, 64}, {32, 8, 128}};
  for (int trial = 0; trial < 3; ++trial) {
    auto batch = test_support::random_batch(rng, 5 + trial, 300);
    batch.doc_lengths.push_back(1);
    for (auto [precision, tolerance] : {std::pair{cuda::Precision::fp32, 1e-4}, std::pair{cuda::Precision::bf16, 3e-2}}) {
      const auto e = whole_batch_errors(batch, layouts[trial], precision, 40 + trial);
      const char* names[] = {"O", "dQ", "dK", "dV"};
      for (int i = 0; i < 4; ++i)
        EXPECT_LT(e[static_cast<std::size_t>(i)], tolerance)
            << names[i] << " trial " << trial << (precision == cuda::Precision::bf16 ? " bf16" : " fp32");
    }
  }
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
