#pragma once
// The data-movement kernels CudaKernels needs beside the attention kernels of
// device_attention.hpp: fill, element-wise add, and runs of strided block copies (KV pieces,
// Ulysses transposes). Asynchronous on the given stream. Light header: included by nvcc (C++17).
#include <cstdint>

namespace flexcp::attn::cuda {

// One run list entry, the device twin of attn::BlockCopy (offsets and lengths in floats).
struct DeviceBlockCopy {
  std::int64_t src, dst, length, rows, src_stride, dst_stride;
};

void fill(float* data, std::int64_t count, float value, void* stream);
// dst[i] += src[i]
void accumulate(float* dst, const float* src, std::int64_t count, void* stream);
// Every run of the `count` entries at `blocks` (device memory); `most_rows`: the largest `rows`.
// With `add`, runs must not overlap in dst.
void block_copy(const DeviceBlockCopy* blocks, std::int64_t count, std::int64_t most_rows, const float* src, float* dst,
                bool add, void* stream);

}  // namespace flexcp::attn::cuda
