#include "attn/cuda/device_local_attention.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "device/check.hpp"

namespace flexcp::attn::cuda {

struct DeviceLocalAttention::Buffers {
  DeviceSliceSet slices;
  DeviceBuffer staging;             // fp32 upload staging (q, then k/v, then dO)
  DeviceBuffer q, kv, dout;         // inputs in the compute precision
  DeviceBuffer out, lse, rowsum, dq, dkv, dout32;  // fp32
};

DeviceLocalAttention::DeviceLocalAttention(const sched::RankShard& shard, const HeadLayout& layout, Precision precision)
    : layout_(layout), precision_(precision), tokens_(shard.tokens()), slices_(build_slices(shard, shard)) {
  const std::size_t element = precision == Precision::bf16 ? 2 : 4;
  const std::size_t q_elems = static_cast<std::size_t>(tokens_) * layout.q_heads * layout.head_dim;
  const std::size_t kv_elems = static_cast<std::size_t>(kv_floats(tokens_, layout));
  const std::size_t rows = static_cast<std::size_t>(tokens_) * layout.q_heads;
  buffers_ = std::make_unique<Buffers>(DeviceSliceSet(slices_),
                             DeviceBuffer("flexcp::cuda::staging", 4 * std::max(q_elems, kv_elems)),
                             DeviceBuffer("flexcp::cuda::q", element * q_elems),
                             DeviceBuffer("flexcp::cuda::kv", element * kv_elems),
                             DeviceBuffer("flexcp::cuda::dout", element * q_elems),
                             DeviceBuffer("flexcp::cuda::out", 4 * q_elems),
                             DeviceBuffer("flexcp::cuda::lse", 4 * rows),
                             DeviceBuffer("flexcp::cuda::rowsum", 4 * rows),
                             DeviceBuffer("flexcp::cuda::dq", 4 * q_elems),
                             DeviceBuffer("flexcp::cuda::dkv", 4 * kv_elems),
                             DeviceBuffer("flexcp::cuda::dout_fp32", 4 * q_elems));
}

DeviceLocalAttention::~DeviceLocalAttention() = default;

double DeviceLocalAttention::local_mask_area() const { return slices_.area(); }

template <class Work>
void DeviceLocalAttention::timed_on_device(Work&& work) {
  const WallTimer wall;
  work();
  FLEXCP_CUDA_CHECK(cudaDeviceSynchronize());
  const double s = wall.seconds();
  times_.compute_s += s;
  times_.busy_s += s;
}

// An fp32 host array into `target` in the compute precision (through the staging buffer for bf16).
namespace {
void put(const float* host, std::size_t count, Precision precision, DeviceBuffer& staging, DeviceBuffer& target) {
  if (count == 0) return;
  if (precision == Precision::fp32) {
    target.upload(host, count * sizeof(float));
    return;
  }
  staging.upload(host, count * sizeof(float));
  to_bf16(static_cast<const float*>(staging.data()), target.data(), static_cast<std::int64_t>(count));
}
}  // namespace

void DeviceLocalAttention::upload_inputs(const Tensor3& q, const Flat& kv) {
  auto& b = *buffers_;
  put(q.data(), q.size(), precision_, b.staging, b.q);
  put(kv.data(), kv.size(), precision_, b.staging, b.kv);
}

void DeviceLocalAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  auto& b = *buffers_;
  upload_inputs(q, kv);
  const std::int64_t half = kv_floats(tokens_, layout_) / 2;
  const std::size_t element = precision_ == Precision::bf16 ? 2 : 4;
  const DeviceTensor dq{b.q.data(), tokens_};
  const DeviceTensor dk{b.kv.data(), tokens_};
  const DeviceTensor dv{static_cast<const char*>(b.kv.data()) + element * static_cast<std::size_t>(half), tokens_};
  timed_on_device([&] {
    forward_partial(layout_, b.slices, precision_, dq, dk, dv, static_cast<float*>(b.out.data()),
                    static_cast<float*>(b.lse.data()));
  });
  b.out.download(out.data(), out.size() * sizeof(float));
  b.lse.download(lse.data(), lse.size() * sizeof(float));
}

void DeviceLocalAttention::backward(const Tensor3& /*q*/, const Flat& /*kv*/, const Tensor3& /*out*/,
                                    const Tensor2& /*lse*/, const Tensor3& dout, const Tensor3& dq,
                                    const Flat& dkv) {
  auto& b = *buffers_;
  // Q, K, V, O and lse are still on the device from forward (backward follows its forward).
  b.dout32.upload(dout.data(), dout.size() * sizeof(float));
  put(dout.data(), dout.size(), precision_, b.staging, b.dout);
  const std::int64_t half = kv_floats(tokens_, layout_) / 2;
  const std::size_t element = precision_ == Precision::bf16 ? 2 : 4;
  auto* grads = static_cast<float*>(b.dkv.data());
  timed_on_device([&] {
    b.dq.zero();
    b.dkv.zero();
    softmax_backward_rowsum(layout_, tokens_, static_cast<const float*>(b.out.data()),
                            static_cast<const float*>(b.dout32.data()), static_cast<float*>(b.rowsum.data()));
    backward_accumulate(layout_, b.slices, precision_, {b.q.data(), tokens_}, {b.kv.data(), tokens_},
                        {static_cast<const char*>(b.kv.data()) + element * static_cast<std::size_t>(half), tokens_},
                        {b.dout.data(), tokens_}, static_cast<const float*>(b.lse.data()),
                        static_cast<const float*>(b.rowsum.data()), static_cast<float*>(b.dq.data()), grads, grads + half);
  });
  b.dq.download(dq.data(), dq.size() * sizeof(float));
  b.dkv.download(dkv.data(), dkv.size() * sizeof(float));
}

}  // namespace flexcp::attn::cuda
