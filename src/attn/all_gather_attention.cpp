#include "attn/all_gather_attention.hpp"

#include "attn/host_kernels.hpp"
#include "common/error.hpp"

namespace flexcp::attn {

AllGatherAttention::AllGatherAttention(comm::GroupCollectives& group, const std::vector<sched::RankShard>& shards,
                                       int position, const HeadLayout& layout)
    : group_(group), layout_(layout), position_(static_cast<std::size_t>(position)) {
  FLEXCP_CHECK(group_.size() == static_cast<int>(shards.size()) && group_.position() == position,
               "the group communicator does not match the group");
  std::int64_t offset = 0;
  for (const auto& shard : shards) {
    tokens_.push_back(shard.tokens());
    counts_.push_back(kv_floats(shard.tokens(), layout_));
    offsets_.push_back(offset);
    offset += counts_.back();
    slices_.push_back(build_slices(shards[position_], shard));
  }
  gathered_ = make_flat("flexcp::all_gather::kv", offset);
  gathered_grad_ = make_flat("flexcp::all_gather::dkv", offset);
  const auto mine = tokens_[position_];
  out_partial_ = make_tensor("flexcp::all_gather::out_partial", mine, layout_.q_heads, layout_.head_dim);
  lse_partial_ = make_row_stats("flexcp::all_gather::lse_partial", mine, layout_.q_heads);
  rowsum_ = make_row_stats("flexcp::all_gather::dO_dot_O", mine, layout_.q_heads);
}

KvRefs AllGatherAttention::block(const Flat& buffer, std::size_t member) const {
  return kv_refs(buffer.data() + offsets_[member], tokens_[member], layout_.kv_heads, layout_.head_dim);
}

double AllGatherAttention::local_mask_area() const {
  double area = 0.0;
  for (const auto& s : slices_) area += s.area();
  return area;
}

void AllGatherAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  auto gather = group_.start_allgatherv(kv.data(), gathered_.data(), counts_);
  const auto own = kv_refs(kv.data(), tokens_[position_], layout_.kv_heads, layout_.head_dim);
  timed([&] { forward_partial(layout_, slices_[position_], ref(q), own.k, own.v, ref(out), ref(lse)); });
  group_.wait(gather);
  for (std::size_t m = 0; m < slices_.size(); ++m) {
    if (m == position_ || slices_[m].slices.empty()) continue;
    const auto b = block(gathered_, m);
    timed([&] {
      forward_partial(layout_, slices_[m], ref(q), b.k, b.v, ref(out_partial_), ref(lse_partial_));
      merge_partial(ref(out), ref(lse), ref(out_partial_), ref(lse_partial_));
    });
  }
}

void AllGatherAttention::backward(const Tensor3& q, const Flat& /*kv: kept gathered since forward*/,
                                  const Tensor3& out, const Tensor2& lse, const Tensor3& dout, const Tensor3& dq,
                                  const Flat& dkv) {
  Kokkos::deep_copy(dq, 0.0f);
  timed([&] {
    Kokkos::deep_copy(gathered_grad_, 0.0f);
    softmax_backward_rowsum(ref(out), ref(dout), ref(rowsum_));
    for (std::size_t m = 0; m < slices_.size(); ++m) {
      if (slices_[m].slices.empty()) continue;
      const auto b = block(gathered_, m);
      const auto g = block(gathered_grad_, m);
      backward_accumulate(layout_, slices_[m], ref(q), b.k, b.v, ref(dout), ref(lse), ref(rowsum_), ref(dq), g.k, g.v);
    }
  });
  auto reduce = group_.start_reduce_scatterv(gathered_grad_.data(), dkv.data(), counts_);
  group_.wait(reduce);
}

}  // namespace flexcp::attn
