#pragma once
// The executor of one CP group for one rank: forward and backward of document-masked causal
// attention over the group's tokens, whatever the communication scheme (ring, needed-KV,
// all-gather, all-to-all). Tensors are this rank's local buffer in the order of its RankShard:
// q, out, dout, dq [tokens][H_q][d]; lse [tokens][H_q]; kv, dkv one KV message (kv_refs layout).
#include "attn/tensor.hpp"
#include "common/clock.hpp"

namespace flexcp::attn {

struct ComputeTimes {
  double compute_s = 0.0;  // wall time inside kernels (and packing)
  double busy_s = 0.0;     // thread CPU time inside kernels (and packing)
};

class GroupAttention {
 public:
  virtual ~GroupAttention() = default;
  // Visible (query, key) pairs this rank computes, in units of all H_q heads.
  virtual double local_mask_area() const = 0;
  virtual void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) = 0;
  // Writes dq and dkv (this rank's dK/dV, complete: every member's contribution reduced here).
  virtual void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse,
                        const Tensor3& dout, const Tensor3& dq, const Flat& dkv) = 0;
  const ComputeTimes& times() const { return times_; }

 protected:
  template <class Work>
  void timed(Work&& work) {
    const WallTimer wall;
    const ThreadCpuTimer cpu;
    work();
    times_.compute_s += wall.seconds();
    times_.busy_s += cpu.seconds();
  }
  ComputeTimes times_;
};

}  // namespace flexcp::attn
