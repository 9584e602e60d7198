#include <cuda_runtime_api.h>

#include "attn/cuda/dense_layers.hpp"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {
constexpr int kTile = 16;
constexpr unsigned kThreads = 256;
constexpr double kSqrt2OverPi = 0.7978845608028654, kCubic = 0.044715;  // attn::gelu's constants

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

unsigned grid_for(std::int64_t count) {  // grid-stride loops: cap the grid, every thread loops
  const std::int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

// One kTile x kTile block of c per thread block; tiles of op(a) and op(b) staged in shared memory.
__global__ void gemm_kernel(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
                            float* c, bool accumulate) {
  __shared__ float as[kTile][kTile];
  __shared__ float bs[kTile][kTile];
  const std::int64_t row = std::int64_t{blockIdx.y} * kTile + threadIdx.y;
  const std::int64_t col = std::int64_t{blockIdx.x} * kTile + threadIdx.x;
  double acc = 0.0;
  for (std::int64_t p0 = 0; p0 < k; p0 += kTile) {
    const std::int64_t pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
    as[threadIdx.y][threadIdx.x] = (row < m && pa < k) ? (ta ? a[pa * m + row] : a[row * k + pa]) : 0.0f;
    bs[threadIdx.y][threadIdx.x] = (pb < k && col < n) ? (tb ? b[col * k + pb] : b[pb * n + col]) : 0.0f;
    __syncthreads();
    for (int q = 0; q < kTile; ++q) acc += static_cast<double>(as[threadIdx.y][q]) * bs[q][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = static_cast<float>(acc + (accumulate ? c[row * n + col] : 0.0));
}

__global__ void add_bias_kernel(float* x, const float* bias, std::int64_t count, std::int64_t width) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    x[e] += bias[e % width];
}

__global__ void bias_gradient_kernel(const float* dy, float* db, std::int64_t rows, std::int64_t width) {
  for (std::int64_t j = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; j < width; j += std::int64_t{gridDim.x} * blockDim.x) {
    double s = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) s += dy[r * width + j];
    db[j] = static_cast<float>(db[j] + s);
  }
}

__device__ double gelu_of(double a) { return 0.5 * a * (1.0 + tanh(kSqrt2OverPi * (a + kCubic * a * a * a))); }
__device__ double gelu_derivative_of(double a) {
  const double t = tanh(kSqrt2OverPi * (a + kCubic * a * a * a));
  return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kCubic * a * a);
}

__global__ void gelu_kernel(const float* x, float* y, std::int64_t count) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    y[e] = static_cast<float>(gelu_of(x[e]));
}

__global__ void gelu_backward_kernel(const float* x, const float* dy, float* dx, std::int64_t count) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x)
    dx[e] = static_cast<float>(dy[e] * gelu_derivative_of(x[e]));
}
}  // namespace

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
          float* c, bool accumulate, void* stream) {
  if (m == 0 || n == 0) return;
  const std::int64_t gx = (n + kTile - 1) / kTile, gy = (m + kTile - 1) / kTile;
  FLEXCP_DEVICE_REQUIRE(gx <= 2147483647 && gy <= 65535, "a GEMM larger than one launch holds");
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy)), block(kTile, kTile);
  gemm_kernel<<<grid, block, 0, as_stream(stream)>>>(transpose_a, transpose_b, m, n, k, a, b, c, accumulate);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void add_bias(float* x, const float* bias, std::int64_t count, std::int64_t width, void* stream) {
  if (count == 0) return;
  add_bias_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(x, bias, count, width);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void bias_gradient(const float* dy, float* db, std::int64_t rows, std::int64_t width, void* stream) {
  if (width == 0) return;
  bias_gradient_kernel<<<grid_for(width), kThreads, 0, as_stream(stream)>>>(dy, db, rows, width);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void gelu(const float* x, float* y, std::int64_t count, void* stream) {
  if (count == 0) return;
  gelu_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(x, y, count);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t count, void* stream) {
  if (count == 0) return;
  gelu_backward_kernel<<<grid_for(count), kThreads, 0, as_stream(stream)>>>(x, dy, dx, count);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::attn::cuda
