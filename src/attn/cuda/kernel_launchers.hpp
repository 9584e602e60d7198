#pragma once
// The launchers behind device_attention.hpp's dispatch, one pair per kernel family. Internal to
// src/attn/cuda: callers use device_attention.hpp, which checks the layout and picks a family.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "attn/cuda/device_slice_set.hpp"
#include "attn/head_layout.hpp"

namespace flexcp::attn::cuda {

// Inputs of one launch: Q and dO [tokens][H_q][d], K and V [tokens][H_kv][d] in the storage
// type of the family (fp32 or bf16 for SIMT, bf16 for tensor cores); outputs fp32.
struct KernelInputs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* dout = nullptr;
};

// SIMT reference kernels: one thread per (row, head), fp32 arithmetic, any head_dim <= 256.
void simt_forward(const HeadLayout& layout, const DeviceSliceSet& slices, bool bf16, const KernelInputs& in, float* out,
                  float* lse, cudaStream_t stream);
void simt_backward(const HeadLayout& layout, const DeviceSliceSet& slices, bool bf16, const KernelInputs& in,
                   const float* lse, const float* rowsum, float* dq, float* dk, float* dv, cudaStream_t stream);

// Tensor-core kernels (bf16 mma.sync, fp32 accumulation), head_dim 64 or 128. `query_tile` is
// the forward's query rows per block (64 or 128) and `rows_per_warp` its rows per warp (16, or
// 32 with 128-row tiles); `query_block` the backward's query rows per step (32 or 64).
void tc_forward(const HeadLayout& layout, const DeviceSliceSet& slices, int query_tile, int rows_per_warp,
                const KernelInputs& in, float* out, float* lse, cudaStream_t stream);
void tc_backward(const HeadLayout& layout, const DeviceSliceSet& slices, int query_block, const KernelInputs& in,
                 const float* lse, const float* rowsum, float* dq, float* dk, float* dv, cudaStream_t stream);

}  // namespace flexcp::attn::cuda
