#pragma once
// Flash-attention-style host kernels over attention slices (Kokkos, fp32 accumulation).
//
// Forward computes, for one KV block, the partial output of every query row (softmax over the
// keys of that block only) and its log-sum-exp; partial results of different blocks are merged
// with merge_partial(). Backward takes the final O's log-sum-exp and D = rowsum(dO * O) and
// accumulates dQ for the local queries and dK/dV for the block's keys.
//
// Parallel tasks are (query tile, head) for the forward and dQ, and (key tile, KV head) for
// dK/dV: each task owns the rows it writes, so the kernels are race-free on any Kokkos host
// backend. The price is that backward recomputes the scores once more than a single fused pass
// (7 instead of 5 tile products); FLOP figures count the standard 5.
#include "attn/slice.hpp"
#include "attn/tensor.hpp"

namespace flexcp::attn {

struct KernelTiling {
  int query_rows = 32;  // rows of Q per task
  int key_rows = 64;    // keys per inner tile
};

// Writes the block's partial output and log-sum-exp for every query row. Rows with no visible
// key get O = 0 and lse = -inf, which merge_partial() treats as "no contribution".
void forward_partial(const HeadLayout& layout, const SliceSet& slices, const TensorRef& q,
                     const TensorRef& k, const TensorRef& v, const TensorRef& out_partial,
                     const RowStatsRef& lse_partial, const KernelTiling& tiling = {});

// out, lse := the log-sum-exp merge of (out, lse) and (part, part_lse), row by row, in fp32.
void merge_partial(const TensorRef& out, const RowStatsRef& lse, const TensorRef& part,
                   const RowStatsRef& part_lse);

// D[t][h] = sum_d dO[t][h][d] * O[t][h][d], the softmax backward's row correction.
void softmax_backward_rowsum(const TensorRef& out, const TensorRef& dout, const RowStatsRef& rowsum);

// Accumulates (+=) dQ of the local queries and dK, dV of the block's keys.
void backward_accumulate(const HeadLayout& layout, const SliceSet& slices, const TensorRef& q,
                         const TensorRef& k, const TensorRef& v, const TensorRef& dout,
                         const RowStatsRef& lse, const RowStatsRef& rowsum, const TensorRef& dq,
                         const TensorRef& dk, const TensorRef& dv, const KernelTiling& tiling = {});

}  // namespace flexcp::attn
