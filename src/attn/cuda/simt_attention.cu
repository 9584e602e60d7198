// The SIMT reference kernels: one thread per (query row, head) for the forward and dQ, one per
// (key row, KV head) for dK/dV, each owning the rows it writes (no atomics, deterministic), fp32
// arithmetic on fp32 or bf16 inputs. Slow but simple: the check of the tensor-core kernels and
// the path for shapes those do not cover (fp32 inputs, other head dims).
#include <cuda_bf16.h>

#include <cmath>

#include "attn/cuda/device_attention.hpp"
#include "attn/cuda/kernel_launchers.hpp"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {

constexpr int kTileRows = 32;  // rows per block: one thread each

__device__ __forceinline__ float load(const float* p, std::int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, std::int64_t i) { return __bfloat162float(p[i]); }

struct SliceArrays {
  const AttentionSlice* slices;
  const std::int32_t* members;
};

template <class T>
__global__ void forward_kernel(SliceArrays set, const DeviceTask* tasks, int q_heads, int kv_heads, int dim, float scale,
                               const T* q, const T* k, const T* v, float* out, float* lse) {
  const DeviceTask task = tasks[blockIdx.x];
  if (static_cast<int>(threadIdx.x) >= task.rows) return;
  const int head = blockIdx.y, kv_head = head / (q_heads / kv_heads);
  const std::int64_t i = task.offset + threadIdx.x, row = task.row_begin + threadIdx.x;
  float qv[kMaxHeadDim], acc[kMaxHeadDim];
  for (int d = 0; d < dim; ++d) {
    qv[d] = load(q, (row * q_heads + head) * dim + d) * scale;
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int s = task.member_begin; s < task.member_end; ++s) {
    const AttentionSlice sl = set.slices[set.members[s]];
    const std::int64_t keys = sl.visible_keys(i);
    for (std::int64_t j = 0; j < keys; ++j) {
      const std::int64_t base = ((sl.k_begin + j) * kv_heads + kv_head) * dim;
      float score = 0.0f;
      for (int d = 0; d < dim; ++d) score += qv[d] * load(k, base + d);
      const float m_new = fmaxf(m, score);
      const float correction = __expf(m - m_new), p = __expf(score - m_new);
      l = l * correction + p;
      for (int d = 0; d < dim; ++d) acc[d] = acc[d] * correction + p * load(v, base + d);
      m = m_new;
    }
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < dim; ++d) out[(row * q_heads + head) * dim + d] = acc[d] * inv;
  lse[row * q_heads + head] = l > 0.0f ? m + __logf(l) : -INFINITY;
}

template <class T>
__global__ void dq_kernel(SliceArrays set, const DeviceTask* tasks, int q_heads, int kv_heads, int dim, float scale,
                          const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* rowsum,
                          float* dq) {
  const DeviceTask task = tasks[blockIdx.x];
  if (static_cast<int>(threadIdx.x) >= task.rows) return;
  const int head = blockIdx.y, kv_head = head / (q_heads / kv_heads);
  const std::int64_t i = task.offset + threadIdx.x, row = task.row_begin + threadIdx.x;
  const std::int64_t qbase = (row * q_heads + head) * dim;
  float qv[kMaxHeadDim], gv[kMaxHeadDim], acc[kMaxHeadDim];
  for (int d = 0; d < dim; ++d) {
    qv[d] = load(q, qbase + d);
    gv[d] = load(dout, qbase + d);
    acc[d] = 0.0f;
  }
  const float row_lse = lse[row * q_heads + head], correction = rowsum[row * q_heads + head];
  for (int s = task.member_begin; s < task.member_end; ++s) {
    const AttentionSlice sl = set.slices[set.members[s]];
    const std::int64_t keys = sl.visible_keys(i);
    for (std::int64_t j = 0; j < keys; ++j) {
      const std::int64_t base = ((sl.k_begin + j) * kv_heads + kv_head) * dim;
      float score = 0.0f, dp = 0.0f;
      for (int d = 0; d < dim; ++d) {
        score += qv[d] * load(k, base + d);
        dp += gv[d] * load(v, base + d);
      }
      const float p = __expf(score * scale - row_lse), ds = p * (dp - correction);
      for (int d = 0; d < dim; ++d) acc[d] += ds * load(k, base + d);
    }
  }
  for (int d = 0; d < dim; ++d) dq[qbase + d] += acc[d] * scale;
}

template <class T>
__global__ void dkv_kernel(SliceArrays set, const DeviceTask* tasks, int q_heads, int kv_heads, int dim, float scale,
                           const T* q, const T* k, const T* v, const T* dout, const float* lse, const float* rowsum,
                           float* dk, float* dv) {
  const DeviceTask task = tasks[blockIdx.x];
  if (static_cast<int>(threadIdx.x) >= task.rows) return;
  const int kv_head = blockIdx.y, group = q_heads / kv_heads;
  const std::int64_t j = task.offset + threadIdx.x, row = task.row_begin + threadIdx.x;
  const std::int64_t kbase = (row * kv_heads + kv_head) * dim;
  float kv[kMaxHeadDim], vv[kMaxHeadDim], dk_acc[kMaxHeadDim], dv_acc[kMaxHeadDim];
  for (int d = 0; d < dim; ++d) {
    kv[d] = load(k, kbase + d);
    vv[d] = load(v, kbase + d);
    dk_acc[d] = dv_acc[d] = 0.0f;
  }
  for (int s = task.member_begin; s < task.member_end; ++s) {
    const AttentionSlice sl = set.slices[set.members[s]];
    if (j >= sl.k_len) continue;  // past the slice's last visible key
    for (int head = kv_head * group; head < (kv_head + 1) * group; ++head)
      for (std::int64_t i = sl.first_query_seeing(j); i < sl.q_len; ++i) {
        const std::int64_t qrow = sl.q_begin + i, qbase = (qrow * q_heads + head) * dim;
        float score = 0.0f, dp = 0.0f;
        for (int d = 0; d < dim; ++d) {
          score += load(q, qbase + d) * kv[d];
          dp += load(dout, qbase + d) * vv[d];
        }
        const float p = __expf(score * scale - lse[qrow * q_heads + head]);
        const float ds = p * (dp - rowsum[qrow * q_heads + head]);
        for (int d = 0; d < dim; ++d) {
          dv_acc[d] += p * load(dout, qbase + d);
          dk_acc[d] += ds * load(q, qbase + d);
        }
      }
  }
  for (int d = 0; d < dim; ++d) {
    dk[kbase + d] += dk_acc[d] * scale;
    dv[kbase + d] += dv_acc[d];
  }
}

template <class T>
const T* as(const void* p) {
  return static_cast<const T*>(p);
}
}  // namespace

void simt_forward(const HeadLayout& layout, const DeviceSliceSet& slices, bool bf16, const KernelInputs& in, float* out,
                  float* lse, cudaStream_t stream) {
  const auto tasks = slices.query_tasks(kTileRows);
  if (tasks.count == 0) return;
  const SliceArrays set{slices.slices(), slices.query_members()};
  const dim3 grid(static_cast<unsigned>(tasks.count), static_cast<unsigned>(layout.q_heads));
  const int hq = layout.q_heads, hkv = layout.kv_heads, d = layout.head_dim;
  if (bf16)
    forward_kernel<<<grid, kTileRows, 0, stream>>>(set, tasks.tasks, hq, hkv, d, layout.scale(), as<__nv_bfloat16>(in.q),
                                                   as<__nv_bfloat16>(in.k), as<__nv_bfloat16>(in.v), out, lse);
  else
    forward_kernel<<<grid, kTileRows, 0, stream>>>(set, tasks.tasks, hq, hkv, d, layout.scale(), as<float>(in.q),
                                                   as<float>(in.k), as<float>(in.v), out, lse);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void simt_backward(const HeadLayout& layout, const DeviceSliceSet& slices, bool bf16, const KernelInputs& in,
                   const float* lse, const float* rowsum, float* dq, float* dk, float* dv, cudaStream_t stream) {
  const auto query_tasks = slices.query_tasks(kTileRows);
  const auto key_tasks = slices.key_tasks(kTileRows);
  const int hq = layout.q_heads, hkv = layout.kv_heads, d = layout.head_dim;
  const float scale = layout.scale();
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    if (query_tasks.count > 0)
      dq_kernel<T><<<dim3(static_cast<unsigned>(query_tasks.count), static_cast<unsigned>(hq)), kTileRows, 0, stream>>>(
          {slices.slices(), slices.query_members()}, query_tasks.tasks, hq, hkv, d, scale, as<T>(in.q), as<T>(in.k),
          as<T>(in.v), as<T>(in.dout), lse, rowsum, dq);
    if (key_tasks.count > 0)
      dkv_kernel<T><<<dim3(static_cast<unsigned>(key_tasks.count), static_cast<unsigned>(hkv)), kTileRows, 0, stream>>>(
          {slices.slices(), slices.key_members()}, key_tasks.tasks, hq, hkv, d, scale, as<T>(in.q), as<T>(in.k),
          as<T>(in.v), as<T>(in.dout), lse, rowsum, dk, dv);
  };
  if (bf16)
    launch(__nv_bfloat16{});
  else
    launch(float{});
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::attn::cuda
