#pragma once
// The executor of one CP group for one rank: forward and backward of document-masked causal
// attention over the group's tokens, whatever the communication scheme (ring, needed-KV,
// all-gather, all-to-all). Every executor is written once over a Kernels (host or CUDA) and a
// Transport or GroupCollectives of the same memory space, and runs unchanged on both backends.
//
// Tensors are this rank's local buffer in the order of its RankShard, as views in the kernels'
// memory space: q, out, dout, dq [tokens][H_q][d]; lse [tokens][H_q]; kv, dkv one KV message
// (K of every token, then V). Kernel time is collected by the Kernels object.
#include "common/view.hpp"

namespace flexcp::attn {

class GroupAttention {
 public:
  virtual ~GroupAttention() = default;
  // Visible (query, key) pairs this rank computes, in units of all H_q heads.
  virtual double local_mask_area() const = 0;
  // Writes out and lse.
  virtual void forward(const View& q, const View& kv, const View& out, const View& lse) = 0;
  // Writes dq and dkv (this rank's dK/dV, complete: every member's contribution reduced here).
  // out and lse are forward's.
  virtual void backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout,
                        const View& dq, const View& dkv) = 0;
};

}  // namespace flexcp::attn
