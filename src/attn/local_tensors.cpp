#include "attn/local_tensors.hpp"

#include <utility>

#include "attn/synthetic_inputs.hpp"

namespace flexcp::attn {
namespace {
void append_download(Kernels& kernels, const View& src, std::vector<float>& dst) {
  const auto at = dst.size();
  dst.resize(at + static_cast<std::size_t>(src.count));
  kernels.download(src, dst.data() + at);
}
}  // namespace

LocalTensors allocate_local_tensors(Kernels& kernels, std::int64_t tokens, const HeadLayout& layout) {
  return {kernels.allocate("flexcp::q", q_floats(tokens, layout)),
          kernels.allocate("flexcp::kv", kv_floats(tokens, layout)),
          kernels.allocate("flexcp::dout", q_floats(tokens, layout)),
          kernels.allocate("flexcp::out", q_floats(tokens, layout)),
          kernels.allocate("flexcp::lse", row_floats(tokens, layout)),
          kernels.allocate("flexcp::dq", q_floats(tokens, layout)),
          kernels.allocate("flexcp::dkv", kv_floats(tokens, layout))};
}

LocalTensors make_local_tensors(Kernels& kernels, const sched::RankShard& shard, const std::vector<std::int64_t>& doc_offsets,
                                const HeadLayout& layout, std::uint64_t seed) {
  const auto tokens = shard.tokens();
  auto t = allocate_local_tensors(kernels, tokens, layout);
  const auto kv_half = kv_floats(tokens, layout) / 2;
  std::vector<float> host(static_cast<std::size_t>(kv_floats(tokens, layout)));
  fill_synthetic({host.data(), tokens, layout.kv_heads, layout.head_dim}, shard, doc_offsets, seed, SyntheticTensor::key);
  fill_synthetic({host.data() + kv_half, tokens, layout.kv_heads, layout.head_dim}, shard, doc_offsets, seed,
                 SyntheticTensor::value);
  kernels.upload(host.data(), t.kv.view());
  host.resize(static_cast<std::size_t>(q_floats(tokens, layout)));
  for (auto [which, target] : {std::pair{SyntheticTensor::query, &t.q}, std::pair{SyntheticTensor::output_grad, &t.dout}}) {
    fill_synthetic({host.data(), tokens, layout.q_heads, layout.head_dim}, shard, doc_offsets, seed, which);
    kernels.upload(host.data(), target->view());
  }
  return t;
}

void append_results(Kernels& kernels, const LocalTensors& t, HostResults& into) {
  const auto grads = split_kv(t.dkv.view());
  append_download(kernels, t.out.view(), into.out);
  append_download(kernels, t.dq.view(), into.dq);
  append_download(kernels, grads.k, into.dk);
  append_download(kernels, grads.v, into.dv);
}

}  // namespace flexcp::attn
