#pragma once
// CUDA attention over the same slices as the host kernels (attn/host_kernels.hpp): forward
// partial output and log-sum-exp per KV block, log-sum-exp merge, softmax-backward row sums,
// and backward accumulation of dQ, dK, dV. Inputs (Q, K, V, dO) in fp32 or bf16; every
// accumulation and every output in fp32, so partial results merge exactly as on the host.
//
// These are SIMT kernels written for correctness first: one thread per (query row, head) for the
// forward and dQ, one per (key row, KV head) for dK/dV, each owning the rows it writes (no
// atomics, deterministic). Tensor-core (sm_90 wgmma) kernels are the planned replacement; these
// stay as the check of them. Launches are asynchronous on the given stream (0: the default one).
#include <cstdint>

#include "device/buffer.hpp"
#include "attn/head_layout.hpp"
#include "attn/slice.hpp"

namespace flexcp::attn::cuda {
using device::DeviceBuffer;

enum class Precision { fp32, bf16 };  // storage of Q, K, V and dO
inline constexpr int kMaxHeadDim = 256;

// A SliceSet flattened into device arrays, with its row tasks (tiles of `tile_rows` rows).
class DeviceSliceSet {
 public:
  explicit DeviceSliceSet(const SliceSet& slices, int tile_rows = 32);
  struct View {  // what kernels receive, by value
    const void* slices = nullptr;        // DeviceSlice[]
    const void* query_tasks = nullptr;   // DeviceTask[] over by_query groups
    const void* key_tasks = nullptr;     // DeviceTask[] over by_key groups
    const std::int32_t* query_members = nullptr;  // slice indices of each by_query group, concatenated
    const std::int32_t* key_members = nullptr;
    std::int32_t query_task_count = 0, key_task_count = 0;
  };
  View view() const;
  int tile_rows() const { return tile_rows_; }

 private:
  int tile_rows_;
  DeviceBuffer slices_, query_tasks_, key_tasks_, query_members_, key_members_;
  std::int32_t query_task_count_ = 0, key_task_count_ = 0;
};

struct DeviceTensor {  // a [tokens][heads][dim] tensor in device memory
  const void* data = nullptr;
  std::int64_t tokens = 0;
};

// out[tokens][H_q][d], lse[tokens][H_q] (fp32): the block's partial output; rows with no
// visible key get O = 0, lse = -inf.
void forward_partial(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                     DeviceTensor k, DeviceTensor v, float* out, float* lse, void* stream = nullptr);
void merge_partial(const HeadLayout& layout, std::int64_t tokens, float* out, float* lse, const float* part,
                   const float* part_lse, void* stream = nullptr);
// dst (bf16) := src (fp32), rounded to nearest even: the storage of bf16 inputs.
void to_bf16(const float* src, void* dst, std::int64_t count, void* stream = nullptr);
// rowsum[t][h] = sum_d dO * O (fp32 O and dO).
void softmax_backward_rowsum(const HeadLayout& layout, std::int64_t tokens, const float* out, const float* dout,
                             float* rowsum, void* stream = nullptr);
// dq, dk, dv (fp32) += this block's contribution; lse and rowsum of the final output.
void backward_accumulate(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                         DeviceTensor k, DeviceTensor v, DeviceTensor dout, const float* lse, const float* rowsum,
                         float* dq, float* dk, float* dv, void* stream = nullptr);

}  // namespace flexcp::attn::cuda
