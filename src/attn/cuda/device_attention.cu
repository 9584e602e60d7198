#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <vector>

#include "attn/cuda/device_attention.hpp"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {

struct DeviceSlice {
  std::int64_t q_begin, q_len, k_begin, k_len, diag;
};
// A tile of rows of one slice group: rows [row_begin, row_begin + rows) of the buffer, which are
// rows [offset, offset + rows) of the group's segment; the group's slices are
// members[member_begin, member_end).
struct DeviceTask {
  std::int64_t row_begin, offset;
  std::int32_t rows, member_begin, member_end;
};

__device__ __forceinline__ float load(const float* p, std::int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16* p, std::int64_t i) { return __bfloat162float(p[i]); }

__device__ __forceinline__ std::int64_t visible_keys(const DeviceSlice& s, std::int64_t i) {
  const std::int64_t v = i + s.diag + 1;
  return v < 0 ? 0 : (v > s.k_len ? s.k_len : v);
}

__global__ void fill_kernel(float* data, std::int64_t count, float value) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    data[e] = value;
}

template <class T>
__global__ void forward_kernel(DeviceSliceSet::View set, int q_heads, int kv_heads, int dim, float scale, const T* q,
                               const T* k, const T* v, float* out, float* lse) {
  const auto& task = static_cast<const DeviceTask*>(set.query_tasks)[blockIdx.x];
  if (static_cast<int>(threadIdx.x) >= task.rows) return;
  const auto* slices = static_cast<const DeviceSlice*>(set.slices);
  const int head = blockIdx.y, kv_head = head / (q_heads / kv_heads);
  const std::int64_t i = task.offset + threadIdx.x, row = task.row_begin + threadIdx.x;
  float qv[kMaxHeadDim], acc[kMaxHeadDim];
  for (int d = 0; d < dim; ++d) {
    qv[d] = load(q, (row * q_heads + head) * dim + d) * scale;
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int s = task.member_begin; s < task.member_end; ++s) {
    const auto& sl = slices[set.query_members[s]];
    const std::int64_t keys = visible_keys(sl, i);
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
  if (l > 0.0f) {
    const float inv = 1.0f / l;
    for (int d = 0; d < dim; ++d) out[(row * q_heads + head) * dim + d] = acc[d] * inv;
    lse[row * q_heads + head] = m + __logf(l);
  }
}

__global__ void to_bf16_kernel(const float* src, __nv_bfloat16* dst, std::int64_t count) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    dst[e] = __float2bfloat16_rn(src[e]);
}

__global__ void merge_kernel(std::int64_t rows, int heads, int dim, float* out, float* lse, const float* part,
                             const float* part_lse) {
  const std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (e >= rows * heads) return;
  const float b = part_lse[e];
  if (b == -INFINITY) return;
  const float a = lse[e], m = fmaxf(a, b);
  const float merged = m + __logf(__expf(a - m) + __expf(b - m));
  const float wa = __expf(a - merged), wb = __expf(b - merged);
  for (int d = 0; d < dim; ++d) out[e * dim + d] = wa * out[e * dim + d] + wb * part[e * dim + d];
  lse[e] = merged;
}

__global__ void rowsum_kernel(std::int64_t rows, int heads, int dim, const float* out, const float* dout, float* rowsum) {
  const std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (e >= rows * heads) return;
  float sum = 0.0f;
  for (int d = 0; d < dim; ++d) sum += out[e * dim + d] * dout[e * dim + d];
  rowsum[e] = sum;
}

template <class T>
__global__ void dq_kernel(DeviceSliceSet::View set, int q_heads, int kv_heads, int dim, float scale, const T* q,
                          const T* k, const T* v, const T* dout, const float* lse, const float* rowsum, float* dq) {
  const auto& task = static_cast<const DeviceTask*>(set.query_tasks)[blockIdx.x];
  if (static_cast<int>(threadIdx.x) >= task.rows) return;
  const auto* slices = static_cast<const DeviceSlice*>(set.slices);
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
    const auto& sl = slices[set.query_members[s]];
    const std::int64_t keys = visible_keys(sl, i);
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
__global__ void dkv_kernel(DeviceSliceSet::View set, int q_heads, int kv_heads, int dim, float scale, const T* q,
                           const T* k, const T* v, const T* dout, const float* lse, const float* rowsum, float* dk,
                           float* dv) {
  const auto& task = static_cast<const DeviceTask*>(set.key_tasks)[blockIdx.x];
  if (static_cast<int>(threadIdx.x) >= task.rows) return;
  const auto* slices = static_cast<const DeviceSlice*>(set.slices);
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
    const auto& sl = slices[set.key_members[s]];
    if (j >= sl.k_len) continue;  // past the slice's last visible key
    // Query i sees key j when j <= i + diag.
    const std::int64_t first = j - sl.diag > 0 ? j - sl.diag : 0;
    for (int head = kv_head * group; head < (kv_head + 1) * group; ++head)
      for (std::int64_t i = first; i < sl.q_len; ++i) {
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

std::vector<DeviceTask> tasks_of(const std::vector<SliceGroup>& groups, int tile_rows, std::vector<std::int32_t>& members) {
  std::vector<DeviceTask> tasks;
  for (const auto& g : groups) {
    const auto begin = static_cast<std::int32_t>(members.size());
    members.insert(members.end(), g.slices.begin(), g.slices.end());
    const auto end = static_cast<std::int32_t>(members.size());
    for (std::int64_t off = 0; off < g.len; off += tile_rows)
      tasks.push_back({g.begin + off, off, static_cast<std::int32_t>(g.len - off < tile_rows ? g.len - off : tile_rows),
                       begin, end});
  }
  return tasks;
}

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }
unsigned blocks_for(std::int64_t items, int threads) { return static_cast<unsigned>((items + threads - 1) / threads); }

void check_layout(const HeadLayout& layout) {
  FLEXCP_DEVICE_REQUIRE(layout.head_dim <= kMaxHeadDim, "the CUDA attention kernels support head_dim <= 256");
  FLEXCP_DEVICE_REQUIRE(layout.q_heads % layout.kv_heads == 0, "H_q must be a multiple of H_kv");
}
}  // namespace

DeviceSliceSet::DeviceSliceSet(const SliceSet& set, int tile_rows) : tile_rows_(tile_rows) {
  FLEXCP_DEVICE_REQUIRE(tile_rows >= 1 && tile_rows <= 1024, "tile rows must be in [1, 1024] (one thread per row)");
  std::vector<DeviceSlice> slices;
  for (const auto& s : set.slices) slices.push_back({s.q_begin, s.q_len, s.k_begin, s.k_len, s.diag});
  std::vector<std::int32_t> query_members, key_members;
  const auto query_tasks = tasks_of(set.by_query, tile_rows, query_members);
  const auto key_tasks = tasks_of(set.by_key, tile_rows, key_members);
  slices_ = DeviceBuffer::from("flexcp::cuda::slices", slices);
  query_tasks_ = DeviceBuffer::from("flexcp::cuda::query_tasks", query_tasks);
  key_tasks_ = DeviceBuffer::from("flexcp::cuda::key_tasks", key_tasks);
  query_members_ = DeviceBuffer::from("flexcp::cuda::query_members", query_members);
  key_members_ = DeviceBuffer::from("flexcp::cuda::key_members", key_members);
  query_task_count_ = static_cast<std::int32_t>(query_tasks.size());
  key_task_count_ = static_cast<std::int32_t>(key_tasks.size());
}

DeviceSliceSet::View DeviceSliceSet::view() const {
  return {slices_.data(), query_tasks_.data(), key_tasks_.data(), static_cast<const std::int32_t*>(query_members_.data()),
          static_cast<const std::int32_t*>(key_members_.data()), query_task_count_, key_task_count_};
}

void forward_partial(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                     DeviceTensor k, DeviceTensor v, float* out, float* lse, void* stream) {
  check_layout(layout);
  const auto s = as_stream(stream);
  const std::int64_t rows = q.tokens * layout.q_heads;
  // Grid-stride fills: cap the grid, every thread loops.
  fill_kernel<<<1024, 256, 0, s>>>(out, rows * layout.head_dim, 0.0f);
  fill_kernel<<<1024, 256, 0, s>>>(lse, rows, -INFINITY);
  const auto view = slices.view();
  if (view.query_task_count > 0) {
    const dim3 grid(static_cast<unsigned>(view.query_task_count), static_cast<unsigned>(layout.q_heads));
    const auto threads = static_cast<unsigned>(slices.tile_rows());
    if (precision == Precision::fp32)
      forward_kernel<float><<<grid, threads, 0, s>>>(view, layout.q_heads, layout.kv_heads, layout.head_dim, layout.scale(),
                                                     static_cast<const float*>(q.data), static_cast<const float*>(k.data),
                                                     static_cast<const float*>(v.data), out, lse);
    else
      forward_kernel<__nv_bfloat16><<<grid, threads, 0, s>>>(
          view, layout.q_heads, layout.kv_heads, layout.head_dim, layout.scale(), static_cast<const __nv_bfloat16*>(q.data),
          static_cast<const __nv_bfloat16*>(k.data), static_cast<const __nv_bfloat16*>(v.data), out, lse);
  }
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void merge_partial(const HeadLayout& layout, std::int64_t tokens, float* out, float* lse, const float* part,
                   const float* part_lse, void* stream) {
  const std::int64_t rows = tokens * layout.q_heads;
  if (rows == 0) return;
  merge_kernel<<<blocks_for(rows, 256), 256, 0, as_stream(stream)>>>(rows, layout.q_heads, layout.head_dim, out, lse, part,
                                                                     part_lse);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void to_bf16(const float* src, void* dst, std::int64_t count, void* stream) {
  if (count == 0) return;
  const auto blocks = blocks_for(count, 256) < 65535u ? blocks_for(count, 256) : 65535u;
  to_bf16_kernel<<<blocks, 256, 0, as_stream(stream)>>>(src, static_cast<__nv_bfloat16*>(dst), count);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void softmax_backward_rowsum(const HeadLayout& layout, std::int64_t tokens, const float* out, const float* dout,
                             float* rowsum, void* stream) {
  const std::int64_t rows = tokens * layout.q_heads;
  if (rows == 0) return;
  rowsum_kernel<<<blocks_for(rows, 256), 256, 0, as_stream(stream)>>>(rows, layout.q_heads, layout.head_dim, out, dout,
                                                                      rowsum);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void backward_accumulate(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                         DeviceTensor k, DeviceTensor v, DeviceTensor dout, const float* lse, const float* rowsum,
                         float* dq, float* dk, float* dv, void* stream) {
  check_layout(layout);
  const auto s = as_stream(stream);
  const auto view = slices.view();
  const auto threads = static_cast<unsigned>(slices.tile_rows());
  const int hq = layout.q_heads, hkv = layout.kv_heads, d = layout.head_dim;
  const float scale = layout.scale();
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    const auto* qp = static_cast<const T*>(q.data);
    const auto* kp = static_cast<const T*>(k.data);
    const auto* vp = static_cast<const T*>(v.data);
    const auto* gp = static_cast<const T*>(dout.data);
    if (view.query_task_count > 0)
      dq_kernel<T><<<dim3(static_cast<unsigned>(view.query_task_count), static_cast<unsigned>(hq)), threads, 0, s>>>(
          view, hq, hkv, d, scale, qp, kp, vp, gp, lse, rowsum, dq);
    if (view.key_task_count > 0)
      dkv_kernel<T><<<dim3(static_cast<unsigned>(view.key_task_count), static_cast<unsigned>(hkv)), threads, 0, s>>>(
          view, hq, hkv, d, scale, qp, kp, vp, gp, lse, rowsum, dk, dv);
  };
  if (precision == Precision::fp32)
    launch(float{});
  else
    launch(__nv_bfloat16{});
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::attn::cuda
