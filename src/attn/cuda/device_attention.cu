// The public device attention operations: layout checks, the choice of kernel family, and the
// small element-wise kernels (fill, merge, row sums, bf16 conversion) every family shares.
#include "attn/cuda/device_attention.hpp"

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "attn/cuda/kernel_launchers.hpp"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {

__global__ void fill_kernel(float* data, std::int64_t count, float value) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    data[e] = value;
}

__global__ void to_bf16_kernel(const float* src, __nv_bfloat16* dst, std::int64_t count) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    dst[e] = __float2bfloat16_rn(src[e]);
}

__global__ void merge_kernel(std::int64_t rows, int dim, float* out, float* lse, const float* part, const float* part_lse) {
  const std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (e >= rows) return;
  const float b = part_lse[e];
  if (b == -INFINITY) return;
  const float a = lse[e], m = fmaxf(a, b);
  const float merged = m + __logf(__expf(a - m) + __expf(b - m));
  const float wa = __expf(a - merged), wb = __expf(b - merged);
  for (int d = 0; d < dim; ++d) out[e * dim + d] = wa * out[e * dim + d] + wb * part[e * dim + d];
  lse[e] = merged;
}

__global__ void rowsum_kernel(std::int64_t rows, int dim, const float* out, const float* dout, float* rowsum,
                              bool round_dout) {
  const std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (e >= rows) return;
  float sum = 0.0f;
  for (int d = 0; d < dim; ++d) {
    const float g = dout[e * dim + d];
    sum += out[e * dim + d] * (round_dout ? __bfloat162float(__float2bfloat16_rn(g)) : g);
  }
  rowsum[e] = sum;
}

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }
unsigned blocks_for(std::int64_t items, int threads) { return static_cast<unsigned>((items + threads - 1) / threads); }
// Grid-stride kernels: enough blocks to fill the device, never more than the grid limit.
unsigned stride_blocks(std::int64_t items) { return std::min(blocks_for(items, 256), 65535u); }

void check_layout(const HeadLayout& layout) {
  FLEXCP_DEVICE_REQUIRE(layout.q_heads >= 1 && layout.kv_heads >= 1 && layout.q_heads % layout.kv_heads == 0,
                        "H_q must be a positive multiple of H_kv");
  FLEXCP_DEVICE_REQUIRE(layout.head_dim >= 1 && layout.head_dim <= kMaxHeadDim, "the CUDA attention kernels support head_dim <= 256");
}

bool use_tensor_cores(const HeadLayout& layout, Precision precision, const KernelConfig& config) {
  check_layout(layout);
  switch (config.path) {
    case KernelPath::simt: return false;
    case KernelPath::automatic: return tensor_cores_cover(layout, precision);
    case KernelPath::tensor_core:
      FLEXCP_DEVICE_REQUIRE(tensor_cores_cover(layout, precision),
                            "kernel path tensor_core needs bf16 inputs and head_dim 64 or 128");
      return true;
  }
  return false;
}

// The forward's tile variant: what the configuration names, else by the segments' lengths.
std::pair<int, int> forward_tiling(const KernelConfig& config, const DeviceSliceSet& slices) {
  const int tile = config.forward_query_tile != 0 ? config.forward_query_tile
                                                  : (slices.row_weighted_query_length() < 128.0 ? 64 : 128);
  const int rows_per_warp = config.forward_rows_per_warp != 0 ? config.forward_rows_per_warp : (tile == 128 ? 32 : 16);
  return {tile, rows_per_warp};
}

void fill(float* data, std::int64_t count, float value, cudaStream_t stream) {
  if (count > 0) fill_kernel<<<stride_blocks(count), 256, 0, stream>>>(data, count, value);
}
}  // namespace

bool tensor_cores_cover(const HeadLayout& layout, Precision precision) {
  return precision == Precision::bf16 && (layout.head_dim == 64 || layout.head_dim == 128);
}

const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::automatic: return "automatic";
    case KernelPath::simt: return "simt";
    case KernelPath::tensor_core: return "tensor_core";
  }
  return "?";
}

void forward_partial(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                     DeviceTensor k, DeviceTensor v, float* out, float* lse, void* stream, const KernelConfig& config) {
  const bool tensor_cores = use_tensor_cores(layout, precision, config);
  const auto s = as_stream(stream);
  // The kernels write every row of their tiles; rows in no query segment keep "no contribution".
  if (!slices.queries_cover(q.tokens)) {
    const std::int64_t rows = q.tokens * layout.q_heads;
    fill(out, rows * layout.head_dim, 0.0f, s);
    fill(lse, rows, -INFINITY, s);
  }
  const KernelInputs in{q.data, k.data, v.data, nullptr};
  if (tensor_cores) {
    const auto [tile, rows_per_warp] = forward_tiling(config, slices);
    tc_forward(layout, slices, tile, rows_per_warp, in, out, lse, s);
  }
  else
    simt_forward(layout, slices, precision == Precision::bf16, in, out, lse, s);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void backward_accumulate(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                         DeviceTensor k, DeviceTensor v, DeviceTensor dout, const float* lse, const float* rowsum,
                         float* dq, float* dk, float* dv, void* stream, const KernelConfig& config) {
  const bool tensor_cores = use_tensor_cores(layout, precision, config);
  const KernelInputs in{q.data, k.data, v.data, dout.data};
  if (tensor_cores)
    tc_backward(layout, slices, config.backward_query_block, in, lse, rowsum, dq, dk, dv, as_stream(stream));
  else
    simt_backward(layout, slices, precision == Precision::bf16, in, lse, rowsum, dq, dk, dv, as_stream(stream));
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void merge_partial(const HeadLayout& layout, std::int64_t tokens, float* out, float* lse, const float* part,
                   const float* part_lse, void* stream) {
  const std::int64_t rows = tokens * layout.q_heads;
  if (rows == 0) return;
  merge_kernel<<<blocks_for(rows, 256), 256, 0, as_stream(stream)>>>(rows, layout.head_dim, out, lse, part, part_lse);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void to_bf16(const float* src, void* dst, std::int64_t count, void* stream) {
  if (count == 0) return;
  to_bf16_kernel<<<stride_blocks(count), 256, 0, as_stream(stream)>>>(src, static_cast<__nv_bfloat16*>(dst), count);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void softmax_backward_rowsum(const HeadLayout& layout, std::int64_t tokens, const float* out, const float* dout,
                             float* rowsum, void* stream, Precision dout_as) {
  const std::int64_t rows = tokens * layout.q_heads;
  if (rows == 0) return;
  rowsum_kernel<<<blocks_for(rows, 256), 256, 0, as_stream(stream)>>>(rows, layout.head_dim, out, dout, rowsum,
                                                                      dout_as == Precision::bf16);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::attn::cuda
