#pragma once
// CUDA attention over the same slices as the host kernels (attn/host_kernels.hpp): forward
// partial output and log-sum-exp per KV block, log-sum-exp merge, softmax-backward row sums,
// and backward accumulation of dQ, dK, dV. Inputs (Q, K, V, dO) in fp32 or bf16; every
// accumulation and every output in fp32, so partial results merge exactly as on the host.
//
// Two kernel families behind one dispatch: tensor-core kernels (bf16 mma.sync, fp32
// accumulation, FlashAttention-2 style; bf16 inputs with head_dim 64 or 128), and SIMT
// reference kernels (fp32 arithmetic, any storage, head_dim <= 256) that check them and cover
// every other shape. Launches are asynchronous on the given stream (nullptr: the default one).
#include <cstdint>

#include "attn/cuda/device_slice_set.hpp"
#include "attn/head_layout.hpp"
#include "attn/slice.hpp"
#include "device/buffer.hpp"

namespace flexcp::attn::cuda {
using device::DeviceBuffer;

enum class Precision { fp32, bf16 };  // storage of Q, K, V and dO
inline constexpr int kMaxHeadDim = 256;  // the SIMT kernels' limit

// Which kernel family runs. `automatic` takes the tensor-core kernels where they cover the
// layout and storage, the SIMT kernels elsewhere; naming a family that does not cover them is an
// error.
enum class KernelPath { automatic, simt, tensor_core };
// Tile variants as measured on an H200 (bench/RESULTS.md, "GPU kernels"): 128-row query tiles
// with two 16-row tiles per warp are fastest for query segments of 128 rows and more, 64-row
// tiles with one per warp below that; the backward is fastest with 32-row query steps.
struct KernelConfig {
  KernelPath path = KernelPath::automatic;
  int forward_query_tile = 0;     // query rows per block: 64 or 128; 0 picks by segment lengths
  int backward_query_block = 32;  // tensor-core backward: query rows per step (32 or 64)
  int forward_rows_per_warp = 0;  // 16, or 32 (128-row tiles only); 0: 32 with 128-row tiles, else 16
};
// Whether the tensor-core kernels cover this layout and storage: bf16 inputs, head_dim 64 or 128.
bool tensor_cores_cover(const HeadLayout& layout, Precision precision);
const char* kernel_path_name(KernelPath path);

struct DeviceTensor {  // a [tokens][heads][dim] tensor in device memory
  const void* data = nullptr;
  std::int64_t tokens = 0;
};

// out[tokens][H_q][d], lse[tokens][H_q] (fp32): the block's partial output; rows with no
// visible key get O = 0, lse = -inf.
void forward_partial(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                     DeviceTensor k, DeviceTensor v, float* out, float* lse, void* stream = nullptr,
                     const KernelConfig& config = {});
void merge_partial(const HeadLayout& layout, std::int64_t tokens, float* out, float* lse, const float* part,
                   const float* part_lse, void* stream = nullptr);
// dst (bf16) := src (fp32), rounded to nearest even: the storage of bf16 inputs.
void to_bf16(const float* src, void* dst, std::int64_t count, void* stream = nullptr);
// rowsum[t][h] = sum_d dO * O (fp32 O and dO). `dout_as` names the dO the backward will read:
// with bf16 operands dO is rounded to bf16 here too, so that D = dO . O is the same sum as the
// kernels' dP = dO . V weighted by P (else dP - D, which cancels to 0 for a row with one key,
// is left with dO's rounding error, ~2^-9 of |dO . V|).
void softmax_backward_rowsum(const HeadLayout& layout, std::int64_t tokens, const float* out, const float* dout,
                             float* rowsum, void* stream = nullptr, Precision dout_as = Precision::fp32);
// dq, dk, dv (fp32) += this block's contribution; lse and rowsum of the final output.
void backward_accumulate(const HeadLayout& layout, const DeviceSliceSet& slices, Precision precision, DeviceTensor q,
                         DeviceTensor k, DeviceTensor v, DeviceTensor dout, const float* lse, const float* rowsum,
                         float* dq, float* dk, float* dv, void* stream = nullptr, const KernelConfig& config = {});

}  // namespace flexcp::attn::cuda
