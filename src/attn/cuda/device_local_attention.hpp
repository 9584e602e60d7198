#pragma once
// Attention of a group of one rank on its CUDA device: the rank's whole documents (and any
// zigzag chunks it holds alone) computed locally, forward and backward, behind the same
// GroupAttention interface as the host executors. Host tensors in and out: forward uploads the
// activations (fp32, converted on the device to bf16 in bf16 mode) and keeps Q, K, V, O and lse
// on the device for the backward that follows it; results are downloaded. Kernel
// times are wall times around synchronised launches; busy_s reports the same (the device is busy).
#include <memory>

#include "attn/cuda/device_attention.hpp"
#include "attn/group_attention.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn::cuda {

class DeviceLocalAttention final : public GroupAttention {
 public:
  DeviceLocalAttention(const sched::RankShard& shard, const HeadLayout& layout, Precision precision);
  ~DeviceLocalAttention() override;

  double local_mask_area() const override;
  void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) override;
  void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse, const Tensor3& dout,
                const Tensor3& dq, const Flat& dkv) override;

 private:
  struct Buffers;
  void upload_inputs(const Tensor3& q, const Flat& kv);
  template <class Work>
  void timed_on_device(Work&& work);

  HeadLayout layout_;
  Precision precision_;
  std::int64_t tokens_;
  SliceSet slices_;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace flexcp::attn::cuda
