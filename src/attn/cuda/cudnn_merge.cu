#include "attn/cuda/cudnn_merge.hpp"

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>

#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {

__global__ void merge_bf16_kernel(std::int64_t rows, int dim, float* out, float* lse, const __nv_bfloat16* part,
                                  const float* part_lse) {
  const std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (e >= rows) return;
  const float b = part_lse[e];
  if (!(b > -INFINITY)) return;  // not covered (or NaN): the part's O there is garbage, never read
  const float a = lse[e], m = fmaxf(a, b);
  const float merged = m + __logf(__expf(a - m) + __expf(b - m));
  const float wa = __expf(a - merged), wb = __expf(b - merged);
  for (int d = 0; d < dim; ++d) out[e * dim + d] = wa * out[e * dim + d] + wb * __bfloat162float(part[e * dim + d]);
  lse[e] = merged;
}

__global__ void accumulate_bf16_kernel(float* dst, const __nv_bfloat16* src, std::int64_t count) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    dst[e] += __bfloat162float(src[e]);
}

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }
unsigned blocks_for(std::int64_t items, int threads) { return static_cast<unsigned>((items + threads - 1) / threads); }

}  // namespace

void merge_bf16_partial(std::int64_t rows, int dim, float* out, float* lse, const void* part, const float* part_lse,
                        void* stream) {
  if (rows == 0) return;
  merge_bf16_kernel<<<blocks_for(rows, 128), 128, 0, as_stream(stream)>>>(
      rows, dim, out, lse, static_cast<const __nv_bfloat16*>(part), part_lse);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void accumulate_bf16(float* dst, const void* src, std::int64_t count, void* stream) {
  if (count == 0) return;
  accumulate_bf16_kernel<<<std::min(blocks_for(count, 256), 65535u), 256, 0, as_stream(stream)>>>(
      dst, static_cast<const __nv_bfloat16*>(src), count);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::attn::cuda
