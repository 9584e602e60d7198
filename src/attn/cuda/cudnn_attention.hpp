#pragma once
// cuDNN's fused attention (cudnn_sdpa.hpp) over flexcp's attention slices, with flexcp's
// semantics: forward partial (out, lse in fp32, rows without a visible key 0 and -inf) and
// backward accumulation (dq, dk, dv += in fp32). bf16 Q, K, V, dO; head_dim a multiple of 8,
// at most 128. This header does not include cudnn.h: CudaKernels holds these behind pointers.
//
// Each slice becomes at most two cuDNN entries (attn/sdpa_entries.hpp), grouped into layers
// whose entries share no query rows (forward) and no query or key rows (backward), one mask
// kind each. One layer is one cuDNN execution into bf16 scratch, folded into the fp32 results
// by cudnn_merge.hpp's kernels: the forward merges O and Stats with the log-sum-exp rule
// (skipping rows the layer did not write), the backward adds dQ, dK, dV (zeroed first).
#include <cstdint>
#include <memory>

#include "attn/head_layout.hpp"
#include "attn/slice.hpp"

namespace flexcp::attn::cuda {

// The cuDNN form of one slice set: its layers, and per head layout the entries' lengths and
// ragged offsets on the device (uploaded on first use with that layout).
class CudnnSlices {
 public:
  explicit CudnnSlices(const SliceSet& slices);
  ~CudnnSlices();
  CudnnSlices(const CudnnSlices&) = delete;
  CudnnSlices& operator=(const CudnnSlices&) = delete;
  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class CudnnAttention {
 public:
  // Runs on `stream` (a cudaStream_t) with the process's cuDNN handle and plan cache for the
  // current device (shared: plans cost 0.1-1 s each); throws with context where cuDNN cannot start.
  explicit CudnnAttention(void* stream);
  ~CudnnAttention();
  CudnnAttention(const CudnnAttention&) = delete;
  CudnnAttention& operator=(const CudnnAttention&) = delete;

  // Whether cuDNN's fused attention takes this layout (bf16 operands assumed).
  static bool covers(const HeadLayout& layout);

  // Builds (or finds) every plan the call needs before any launch, so a failure leaves the
  // outputs untouched and the caller may fall back.
  void prepare_forward(const HeadLayout& layout, const CudnnSlices& slices, std::int64_t q_tokens, std::int64_t kv_tokens);
  void prepare_backward(const HeadLayout& layout, const CudnnSlices& slices, std::int64_t q_tokens, std::int64_t kv_tokens);

  // q, k, v: bf16 [tokens][heads][d]; out, lse fp32 (out, lse := the partial result).
  void forward(const HeadLayout& layout, const CudnnSlices& slices, const void* q, const void* k, const void* v,
               std::int64_t q_tokens, std::int64_t kv_tokens, float* out, float* lse);
  // out: the final output (fp32); dout bf16; lse of the final output; dq, dk, dv += (fp32).
  void backward(const HeadLayout& layout, const CudnnSlices& slices, const void* q, const void* k, const void* v,
                const float* out, const void* dout, const float* lse, std::int64_t q_tokens, std::int64_t kv_tokens,
                float* dq, float* dk, float* dv);

  std::size_t plans() const;  // built so far on this device (equal shapes never rebuild)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flexcp::attn::cuda
