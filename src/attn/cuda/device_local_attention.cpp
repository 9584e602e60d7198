#include "attn/cuda/device_local_attention.hpp"

#include "attn/cuda/cuda_backend.hpp"
#include "attn/local_tensors.hpp"
#include "attn/needed_kv_attention.hpp"
#include "comm/self_transport.hpp"

namespace flexcp::attn::cuda {

struct DeviceLocalAttention::State {
  CudaKernels kernels;
  comm::SelfTransport transport{MemorySpace::device};
  sched::GroupProgram program;
  std::unique_ptr<NeededKvAttention> executor;
  LocalTensors t;

  State(const sched::RankShard& shard, const HeadLayout& layout, Precision precision)
      : kernels(precision == Precision::bf16 ? Element::bf16 : Element::fp32) {
    program.members = {0};
    program.shards = {shard};
    program.member_whole_tokens = {0};
    program.receive_from.resize(1);
    program.serve_to.resize(1);
    executor = std::make_unique<NeededKvAttention>(transport, kernels, program, layout);
    t = allocate_local_tensors(kernels, shard.tokens(), layout);
  }
};

DeviceLocalAttention::DeviceLocalAttention(const sched::RankShard& shard, const HeadLayout& layout, Precision precision)
    : state_(std::make_unique<State>(shard, layout, precision)) {}

DeviceLocalAttention::~DeviceLocalAttention() = default;

void DeviceLocalAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  auto& s = *state_;
  s.kernels.upload(q.data(), s.t.q.view());
  s.kernels.upload(kv.data(), s.t.kv.view());
  s.executor->forward(s.t.q.view(), s.t.kv.view(), s.t.out.view(), s.t.lse.view());
  s.kernels.download(s.t.out.view(), out.data());
  s.kernels.download(s.t.lse.view(), lse.data());
}

void DeviceLocalAttention::backward(const Tensor3& /*q: kept from forward*/, const Flat& /*kv: kept*/,
                                    const Tensor3& /*out: kept*/, const Tensor2& /*lse: kept*/, const Tensor3& dout,
                                    const Tensor3& dq, const Flat& dkv) {
  auto& s = *state_;
  s.kernels.upload(dout.data(), s.t.dout.view());
  s.executor->backward(s.t.q.view(), s.t.kv.view(), s.t.out.view(), s.t.lse.view(), s.t.dout.view(), s.t.dq.view(),
                       s.t.dkv.view());
  s.kernels.download(s.t.dq.view(), dq.data());
  s.kernels.download(s.t.dkv.view(), dkv.data());
}

}  // namespace flexcp::attn::cuda
