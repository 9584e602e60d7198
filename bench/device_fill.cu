// Device-side random fill for the kernel benchmarks: inputs of hundreds of millions of elements
// are generated where they live instead of on the host (a hash of the index, uniform in
// [-1, 1), bf16). The values only need to be ordinary numbers: timings do not depend on them.
#include <cuda_bf16.h>

#include <cstdint>

#include "device/check.hpp"
#include "device_fill.hpp"

namespace flexcp::bench {
namespace {
__global__ void fill_kernel(__nv_bfloat16* data, std::int64_t count, std::uint64_t seed) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x) {
    std::uint64_t x = (static_cast<std::uint64_t>(e) + 1) * 0x9E3779B97F4A7C15ull ^ seed;  // splitmix64
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    data[e] = __float2bfloat16_rn(static_cast<float>(x >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
}
}  // namespace

void fill_uniform_bf16(void* data, std::int64_t count, std::uint64_t seed) {
  if (count == 0) return;
  fill_kernel<<<4096, 256>>>(static_cast<__nv_bfloat16*>(data), count, seed);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flexcp::bench
