#include "attn/cuda/device_local_attention.hpp"

#include "attn/cuda/cuda_backend.hpp"
#include "attn/needed_kv_attention.hpp"
#include "comm/self_transport.hpp"

namespace flexcp::attn::cuda {

struct DeviceLocalAttention::State {
  CudaKernels kernels;
  comm::SelfTransport transport{MemorySpace::device};
  sched::GroupProgram program;
  std::unique_ptr<NeededKvAttention> executor;
  Buffer q, kv, out, lse, dout, dq, dkv;

  State(const sched::RankShard& shard, const HeadLayout& layout, Precision precision)
      : kernels(precision == Precision::bf16 ? Element::bf16 : Element::fp32) {
    program.members = {0};
    program.shards = {shard};
    program.member_whole_tokens = {0};
    program.receive_from.resize(1);
    program.serve_to.resize(1);
    executor = std::make_unique<NeededKvAttention>(transport, kernels, program, layout);
    const auto t = shard.tokens();
    q = kernels.allocate("flexcp::shim::q", q_floats(t, layout));
    kv = kernels.allocate("flexcp::shim::kv", kv_floats(t, layout));
    out = kernels.allocate("flexcp::shim::out", q_floats(t, layout));
    lse = kernels.allocate("flexcp::shim::lse", row_floats(t, layout));
    dout = kernels.allocate("flexcp::shim::dout", q_floats(t, layout));
    dq = kernels.allocate("flexcp::shim::dq", q_floats(t, layout));
    dkv = kernels.allocate("flexcp::shim::dkv", kv_floats(t, layout));
  }
};

DeviceLocalAttention::DeviceLocalAttention(const sched::RankShard& shard, const HeadLayout& layout, Precision precision)
    : state_(std::make_unique<State>(shard, layout, precision)) {}

DeviceLocalAttention::~DeviceLocalAttention() = default;

void DeviceLocalAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  auto& s = *state_;
  s.kernels.upload(q.data(), s.q.view());
  s.kernels.upload(kv.data(), s.kv.view());
  s.executor->forward(s.q.view(), s.kv.view(), s.out.view(), s.lse.view());
  s.kernels.download(s.out.view(), out.data());
  s.kernels.download(s.lse.view(), lse.data());
}

void DeviceLocalAttention::backward(const Tensor3& /*q: kept from forward*/, const Flat& /*kv: kept*/,
                                    const Tensor3& /*out: kept*/, const Tensor2& /*lse: kept*/, const Tensor3& dout,
                                    const Tensor3& dq, const Flat& dkv) {
  auto& s = *state_;
  s.kernels.upload(dout.data(), s.dout.view());
  s.executor->backward(s.q.view(), s.kv.view(), s.out.view(), s.lse.view(), s.dout.view(), s.dq.view(), s.dkv.view());
  s.kernels.download(s.dq.view(), dq.data());
  s.kernels.download(s.dkv.view(), dkv.data());
}

}  // namespace flexcp::attn::cuda
