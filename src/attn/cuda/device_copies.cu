#include <cuda_runtime_api.h>

#include "attn/cuda/device_copies.hpp"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {
constexpr unsigned kThreads = 256;

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

unsigned grid_for(std::int64_t count) {  // grid-stride loops: cap the grid, every thread loops
  const std::int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

__global__ void fill_kernel(float* data, std::int64_t count, float value) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    data[e] = value;
}

__global__ void accumulate_kernel(float* dst, const float* src, std::int64_t count) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    dst[e] += src[e];
}

// blockIdx.x: the entry; blockIdx.y strides over its rows; threads over a row's elements.
__global__ void block_copy_kernel(const DeviceBlockCopy* blocks, const float* src, float* dst, bool add) {
  const DeviceBlockCopy b = blocks[blockIdx.x];
  for (std::int64_t r = blockIdx.y; r < b.rows; r += gridDim.y) {
    const float* from = src + b.src + r * b.src_stride;
    float* to = dst + b.dst + r * b.dst_stride;
    for (std::int64_t e = threadIdx.x; e < b.length; e += blockDim.x) {
      if (add) to[e] += from[e];
      else to[e] = from[e];
    }
  }
}
}  // namespace

void fill(float* data, std::int64_t count, float value, void* stream) {
  if (count == 0) return;
  fill_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(data, count, value);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void accumulate(float* dst, const float* src, std::int64_t count, void* stream) {
  if (count == 0) return;
  accumulate_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(dst, src, count);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void block_copy(const DeviceBlockCopy* blocks, std::int64_t count, std::int64_t most_rows, const float* src, float* dst,
                bool add, void* stream) {
  if (count == 0 || most_rows == 0) return;
  FLEXCP_DEVICE_REQUIRE(count <= 2147483647, "more block copies than one launch holds");
  const dim3 grid(static_cast<unsigned>(count), static_cast<unsigned>(most_rows < 1024 ? most_rows : 1024));
  block_copy_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(blocks, src, dst, add);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::attn::cuda
