#pragma once
// What the GPU kernel tests share: inputs rounded to bf16 on the host (so a float64 reference of
// the same values isolates the kernels' own error), one forward + backward on the device over a
// SliceSet (flexcp's kernels or cuDNN's fused attention), and per-document (or per-row) errors through attn/compare.hpp.
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attn/compare.hpp"
#include "attn/cuda/cudnn_attention.hpp"
#include "attn/cuda/device_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/slice.hpp"
#include "device/buffer.hpp"

namespace flexcp::gpu_test {

namespace cuda = flexcp::attn::cuda;

inline float round_to_bf16(float x) {
  const __nv_bfloat16 b = __float2bfloat16_rn(x);
  return __bfloat162float(b);
}

// Uniform values in [-scale, scale), already representable in bf16.
inline std::vector<float> bf16_values(std::size_t count, std::uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> v(count);
  for (auto& x : v) x = round_to_bf16(uniform(rng));
  return v;
}

struct HostTensors {  // [tokens][heads][dim], row-major
  std::vector<float> q, k, v, dout;
};

inline HostTensors random_inputs(std::int64_t q_tokens, std::int64_t kv_tokens, const attn::HeadLayout& layout,
                                 std::uint64_t seed, float scale = 1.0f) {
  const auto qn = static_cast<std::size_t>(q_tokens * layout.q_heads * layout.head_dim);
  const auto kn = static_cast<std::size_t>(kv_tokens * layout.kv_heads * layout.head_dim);
  return {bf16_values(qn, seed, scale), bf16_values(kn, seed + 1, scale), bf16_values(kn, seed + 2, 1.0f),
          bf16_values(qn, seed + 3, 1.0f)};
}

struct DeviceResults {
  std::vector<float> out, lse, dq, dk, dv;
};

// D = rowsum(dO * O) per (token, head), from an accurate O: the softmax backward's correction.
template <class Out>
std::vector<float> rowsum_of(const Out& out, const std::vector<float>& dout, int dim) {
  std::vector<float> d(dout.size() / static_cast<std::size_t>(dim));
  for (std::size_t r = 0; r < d.size(); ++r) {
    double sum = 0.0;
    for (int e = 0; e < dim; ++e) sum += static_cast<double>(out[r * dim + e]) * dout[r * dim + e];
    d[r] = static_cast<float>(sum);
  }
  return d;
}

// Q, K, V, dO on the device as the kernels read them (fp32, or rounded to bf16 there).
struct DeviceInputs {
  device::DeviceBuffer q, k, v, dout;
};
inline DeviceInputs on_device(const HostTensors& in, bool bf16) {
  using device::DeviceBuffer;
  auto stored = [&](const std::vector<float>& host, const char* label) {
    auto fp32 = DeviceBuffer::from(std::string(label) + "_fp32", host);
    if (!bf16) return fp32;
    DeviceBuffer half(label, host.size() * 2);
    cuda::to_bf16(static_cast<const float*>(fp32.data()), half.data(), static_cast<std::int64_t>(host.size()));
    return half;
  };
  return {stored(in.q, "q"), stored(in.k, "k"), stored(in.v, "v"), stored(in.dout, "dout")};
}
inline std::vector<float> fetch(const device::DeviceBuffer& b) {
  std::vector<float> host(b.bytes() / 4);
  b.download(host.data(), b.bytes());
  return host;
}
// The results, dq, dk and dv zeroed (the backward adds).
struct DeviceOutputs {
  device::DeviceBuffer out, lse, dq, dk, dv;
  explicit DeviceOutputs(const HostTensors& in, std::size_t q_rows)
      : out("out", in.q.size() * 4), lse("lse", q_rows * 4), dq("dq", in.q.size() * 4), dk("dk", in.k.size() * 4),
        dv("dv", in.v.size() * 4) {
    dq.zero();
    dk.zero();
    dv.zero();
  }
  DeviceResults results() const { return {fetch(out), fetch(lse), fetch(dq), fetch(dk), fetch(dv)}; }
  float* f(const device::DeviceBuffer& b) const { return static_cast<float*>(b.data()); }
};

// Forward over `slices`, then backward with the forward's own lse and the given D. D comes from
// an accurate O, not the kernel's: with bf16 P the forward's O is ~2^-9 off, and where softmax is
// peaky dP - D cancels, so a D from that O would charge the forward's rounding to the backward.
inline DeviceResults run_on_device(const attn::HeadLayout& layout, const attn::SliceSet& slices, std::int64_t q_tokens,
                                   std::int64_t kv_tokens, const HostTensors& in, const std::vector<float>& rowsum_host,
                                   cuda::Precision precision, const cuda::KernelConfig& config) {
  const auto d = on_device(in, precision == cuda::Precision::bf16);
  const auto rowsum = device::DeviceBuffer::from("rowsum", rowsum_host);
  const DeviceOutputs o(in, static_cast<std::size_t>(q_tokens * layout.q_heads));
  const cuda::DeviceSliceSet device_slices(slices);
  cuda::forward_partial(layout, device_slices, precision, {d.q.data(), q_tokens}, {d.k.data(), kv_tokens},
                        {d.v.data(), kv_tokens}, o.f(o.out), o.f(o.lse), nullptr, config);
  cuda::backward_accumulate(layout, device_slices, precision, {d.q.data(), q_tokens}, {d.k.data(), kv_tokens},
                            {d.v.data(), kv_tokens}, {d.dout.data(), q_tokens}, o.f(o.lse),
                            static_cast<const float*>(rowsum.data()), o.f(o.dq), o.f(o.dk), o.f(o.dv), nullptr, config);
  return o.results();
}

// The same through cuDNN's fused attention (bf16). Its backward computes D itself from O and dO,
// so it gets the accurate O (`accurate_out`, fp32) for the reason above.
template <class Out>
DeviceResults run_on_cudnn(const attn::HeadLayout& layout, const attn::SliceSet& slices, std::int64_t q_tokens,
                           std::int64_t kv_tokens, const HostTensors& in, const Out& accurate_out) {
  const auto d = on_device(in, true);
  const auto out_for_d = device::DeviceBuffer::from("accurate_out", std::vector<float>(accurate_out.begin(), accurate_out.end()));
  const DeviceOutputs o(in, static_cast<std::size_t>(q_tokens * layout.q_heads));
  const cuda::CudnnSlices cudnn_slices(slices);
  cuda::CudnnAttention cudnn(nullptr);
  cudnn.forward(layout, cudnn_slices, d.q.data(), d.k.data(), d.v.data(), q_tokens, kv_tokens, o.f(o.out), o.f(o.lse));
  cudnn.backward(layout, cudnn_slices, d.q.data(), d.k.data(), d.v.data(), static_cast<const float*>(out_for_d.data()),
                 d.dout.data(), o.f(o.lse), q_tokens, kv_tokens, o.f(o.dq), o.f(o.dk), o.f(o.dv));
  return o.results();
}

// Per-document errors through the project's one harness (attn/compare.hpp), for tensors that
// are not a whole batch in token order: a partial block's rows, or single (token, head) rows.
inline std::vector<double> widened(const std::vector<float>& v) { return {v.begin(), v.end()}; }
inline const std::vector<double>& widened(const std::vector<double>& v) { return v; }

// The whole tensor as one "document" of `tokens` rows.
template <class Reference>
attn::TensorComparison compare_block(const std::vector<float>& got, const Reference& want, std::int64_t tokens) {
  return attn::compare_tensor(sched::Batch{{tokens}}, static_cast<std::int64_t>(got.size()) / tokens, got, widened(want));
}

// Every (token, head) row its own "document": catches an error confined to a few rows (a
// one-key mask slip in rows with many keys) that a document's norm would dilute.
template <class Reference>
attn::TensorComparison compare_rows(const std::vector<float>& got, const Reference& want, int dim) {
  const sched::Batch rows{std::vector<std::int64_t>(got.size() / static_cast<std::size_t>(dim), 1)};
  return attn::compare_tensor(rows, dim, got, widened(want));
}

// Largest |got - want| of log-sum-exp rows, where a row with no visible key must be -inf in both.
template <class Reference>
double worst_lse(const std::vector<float>& got, const Reference& want, std::size_t* where) {
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double w = static_cast<double>(want[i]);
    const double e = std::isinf(w) ? (std::isinf(got[i]) && got[i] < 0 ? 0.0 : INFINITY) : std::abs(got[i] - w);
    if (!(e <= worst)) worst = e, *where = i;
  }
  return worst;
}

}  // namespace flexcp::gpu_test
