#pragma once
// COMPATIBILITY SHIM, to be deleted: keeps tests/gpu/test_device_kernels.cpp compiling after
// the backend-specific single-rank executor was replaced by the generic executors over
// CudaKernels. It is no executor of its own: it runs attn::NeededKvAttention (a group of one
// rank) over CudaKernels and a SelfTransport, copying the host tensors in and out. New code
// uses the generic executors directly (see attn/executor_choice.hpp).
#include <memory>

#include "attn/cuda/device_attention.hpp"
#include "attn/tensor.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn::cuda {

class DeviceLocalAttention {
 public:
  DeviceLocalAttention(const sched::RankShard& shard, const HeadLayout& layout, Precision precision);
  ~DeviceLocalAttention();
  DeviceLocalAttention(const DeviceLocalAttention&) = delete;
  DeviceLocalAttention& operator=(const DeviceLocalAttention&) = delete;

  void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse);
  void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse, const Tensor3& dout,
                const Tensor3& dq, const Flat& dkv);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace flexcp::attn::cuda
