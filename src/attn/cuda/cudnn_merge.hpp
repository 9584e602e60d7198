#pragma once
// The small kernels around cuDNN's fused attention (cudnn_attention.hpp): cuDNN writes bf16 O,
// dQ, dK, dV and fp32 Stats for the rows its entries cover; these fold one such call into
// flexcp's fp32 results. Launches are asynchronous on the given stream.
#include <cstdint>

namespace flexcp::attn::cuda {

// out, lse := the log-sum-exp merge of (out, lse) and (part (bf16), part_lse), row by row, over
// `rows` rows of `dim` values. Rows whose part_lse is not above -inf (not written by the call:
// the scratch holds -inf there) are left alone, and their part is never read.
void merge_bf16_partial(std::int64_t rows, int dim, float* out, float* lse, const void* part, const float* part_lse,
                        void* stream);
// dst (fp32) += src (bf16), `count` elements.
void accumulate_bf16(float* dst, const void* src, std::int64_t count, void* stream);

}  // namespace flexcp::attn::cuda
