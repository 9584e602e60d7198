#pragma once
// What the GPU kernel tests share: inputs rounded to bf16 on the host (so a float64 reference of
// the same values isolates the kernels' own error), one forward + backward on the device over a
// SliceSet, and the worst per-document error with where it happened (a wrong 100-token document
// must not hide in the norm of a large batch, and a failure on a GPU must say where to look).
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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

// Forward over `slices`, then backward with the forward's own lse and the given D. D comes from
// an accurate O, not the kernel's: with bf16 P the forward's O is ~2^-9 off, and where softmax is
// peaky dP - D cancels, so a D from that O would charge the forward's rounding to the backward.
inline DeviceResults run_on_device(const attn::HeadLayout& layout, const attn::SliceSet& slices, std::int64_t q_tokens,
                                   std::int64_t kv_tokens, const HostTensors& in, const std::vector<float>& rowsum_host,
                                   cuda::Precision precision, const cuda::KernelConfig& config) {
  using device::DeviceBuffer;
  const bool bf16 = precision == cuda::Precision::bf16;
  auto stored = [&](const std::vector<float>& host, const char* label) {
    auto fp32 = DeviceBuffer::from(std::string(label) + "_fp32", host);
    if (!bf16) return fp32;
    DeviceBuffer half(label, host.size() * 2);
    cuda::to_bf16(static_cast<const float*>(fp32.data()), half.data(), static_cast<std::int64_t>(host.size()));
    return half;
  };
  const auto q = stored(in.q, "q"), k = stored(in.k, "k"), v = stored(in.v, "v"), dout = stored(in.dout, "dout");
  const auto q_rows = static_cast<std::size_t>(q_tokens * layout.q_heads);
  const auto rowsum = DeviceBuffer::from("rowsum", rowsum_host);
  DeviceBuffer out("out", in.q.size() * 4), lse("lse", q_rows * 4);
  DeviceBuffer dq("dq", in.q.size() * 4), dk("dk", in.k.size() * 4), dv("dv", in.v.size() * 4);
  dq.zero();
  dk.zero();
  dv.zero();
  const cuda::DeviceSliceSet device_slices(slices);
  cuda::forward_partial(layout, device_slices, precision, {q.data(), q_tokens}, {k.data(), kv_tokens},
                        {v.data(), kv_tokens}, static_cast<float*>(out.data()), static_cast<float*>(lse.data()), nullptr,
                        config);
  cuda::backward_accumulate(layout, device_slices, precision, {q.data(), q_tokens}, {k.data(), kv_tokens},
                            {v.data(), kv_tokens}, {dout.data(), q_tokens}, static_cast<const float*>(lse.data()),
                            static_cast<const float*>(rowsum.data()), static_cast<float*>(dq.data()),
                            static_cast<float*>(dk.data()), static_cast<float*>(dv.data()), nullptr, config);
  auto fetch = [](const DeviceBuffer& b) {
    std::vector<float> host(b.bytes() / 4);
    b.download(host.data(), b.bytes());
    return host;
  };
  return {fetch(out), fetch(lse), fetch(dq), fetch(dk), fetch(dv)};
}

// The worst relative error over the documents of a [tokens][heads][dim] tensor. A document's
// error is ||got - want|| / (||want|| + floor), the floor 1e-2 of the tensor's RMS per element,
// so documents whose reference is tiny (dK of a 1-token document is 0) are judged absolutely.
struct WorstDocument {
  double error = 0.0;
  std::size_t doc = 0, token = 0;
  int head = 0, dim = 0;
  double got = 0.0, want = 0.0;
  std::string describe(const char* tensor) const {
    std::ostringstream s;
    s << tensor << ": worst document " << doc << " error " << error << " (largest difference at token " << token
      << " head " << head << " dim " << dim << ": got " << got << ", want " << want << ")";
    return s.str();
  }
};

template <class Reference>
WorstDocument worst_document(const std::vector<float>& got, const Reference& want,
                             const std::vector<std::int64_t>& doc_starts, int heads, int dim) {
  const std::size_t row = static_cast<std::size_t>(heads) * dim;
  double total = 0.0;
  for (const auto w : want) total += static_cast<double>(w) * static_cast<double>(w);
  const double rms = want.empty() ? 0.0 : std::sqrt(total / static_cast<double>(want.size()));
  WorstDocument worst;
  for (std::size_t d = 0; d + 1 < doc_starts.size(); ++d) {
    const auto begin = static_cast<std::size_t>(doc_starts[d]) * row, end = static_cast<std::size_t>(doc_starts[d + 1]) * row;
    double diff = 0.0, norm = 0.0, largest = -1.0;
    std::size_t where = begin;
    for (std::size_t e = begin; e < end; ++e) {
      const double g = got[e], w = static_cast<double>(want[e]);
      const double delta = std::isfinite(g) ? std::abs(g - w) : INFINITY;
      diff += delta * delta;
      norm += w * w;
      if (delta > largest) largest = delta, where = e;
    }
    const double floor = 1e-2 * rms * std::sqrt(static_cast<double>(end - begin));
    const double error = std::sqrt(diff) / (std::sqrt(norm) + floor);
    if (!(error <= worst.error)) {  // NaN counts as worse than anything
      worst = {error, d, where / row, static_cast<int>(where % row / dim), static_cast<int>(where % dim), got[where],
               static_cast<double>(want[where])};
    }
  }
  return worst;
}

// The worst relative error of one (token, head) row, floored like worst_document: catches an
// error confined to a few rows (a one-key mask slip in rows with many keys) that a document's
// norm would dilute.
template <class Reference>
WorstDocument worst_row(const std::vector<float>& got, const Reference& want, int heads, int dim) {
  const std::vector<std::int64_t> rows_as_documents = [&] {
    std::vector<std::int64_t> starts(want.size() / static_cast<std::size_t>(dim) + 1);
    for (std::size_t r = 0; r < starts.size(); ++r) starts[r] = static_cast<std::int64_t>(r);
    return starts;
  }();
  auto worst = worst_document(got, want, rows_as_documents, 1, dim);  // one "document" per row
  worst.head = static_cast<int>(worst.token % static_cast<std::size_t>(heads));
  worst.token /= static_cast<std::size_t>(heads);
  return worst;
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
