#include "attn/all_gather_attention.hpp"

#include "common/error.hpp"

namespace flexcp::attn {

AllGatherAttention::AllGatherAttention(comm::GroupCollectives& group, Kernels& kernels,
                                       const std::vector<sched::RankShard>& shards, int position, const HeadLayout& layout)
    : group_(group), kernels_(kernels), layout_(layout), position_(static_cast<std::size_t>(position)) {
  FLEXCP_CHECK(group_.size() == static_cast<int>(shards.size()) && group_.position() == position,
               "the group communicator does not match the group");
  FLEXCP_CHECK(group_.space() == kernels_.space(), "the all-gather executor's collectives and kernels use different memory");
  std::int64_t offset = 0;
  for (const auto& shard : shards) {
    counts_.push_back(kv_floats(shard.tokens(), layout_));
    offsets_.push_back(offset);
    offset += counts_.back();
    slices_.push_back(kernels_.prepare(build_slices(shards[position_], shard)));
  }
  gathered_ = kernels_.allocate("flexcp::all_gather::kv", offset);
  gathered_grad_ = kernels_.allocate("flexcp::all_gather::dkv", offset);
  const auto mine = shards[position_].tokens();
  out_partial_ = kernels_.allocate("flexcp::all_gather::out_partial", q_floats(mine, layout_));
  lse_partial_ = kernels_.allocate("flexcp::all_gather::lse_partial", row_floats(mine, layout_));
  rowsum_ = kernels_.allocate("flexcp::all_gather::dO_dot_O", row_floats(mine, layout_));
}

KvViews AllGatherAttention::block(const Buffer& buffer, std::size_t member) const {
  return split_kv(buffer.slice(offsets_[member], counts_[member]));
}

View AllGatherAttention::operand(const View& values, int slot) { return kernels_.operand(values, scratch_[slot]); }

double AllGatherAttention::local_mask_area() const {
  double area = 0.0;
  for (const auto& s : slices_) area += s->area();
  return area;
}

void AllGatherAttention::forward(const View& q, const View& kv, const View& out, const View& lse) {
  auto gather = group_.start_allgatherv(kv, gathered_.view(), counts_);
  View q_in;
  kernels_.timed([&] {
    q_in = operand(q, 0);
    const auto own = split_kv(kv);  // also initialises every row of out and lse
    kernels_.forward_partial(layout_, *slices_[position_], q_in, operand(own.k, 1), operand(own.v, 2), out, lse);
  });
  group_.wait(gather);
  for (std::size_t m = 0; m < slices_.size(); ++m) {
    if (m == position_ || slices_[m]->empty()) continue;
    kernels_.timed([&] {
      const auto b = block(gathered_, m);
      kernels_.forward_partial(layout_, *slices_[m], q_in, operand(b.k, 1), operand(b.v, 2), out_partial_.view(),
                               lse_partial_.view());
      kernels_.merge_partial(layout_, out, lse, out_partial_.view(), lse_partial_.view());
    });
  }
}

void AllGatherAttention::backward(const View& q, const View& /*kv: kept gathered since forward*/, const View& out,
                                  const View& lse, const View& dout, const View& dq, const View& dkv) {
  kernels_.timed([&] {
    kernels_.fill(dq, 0.0f);
    kernels_.fill(gathered_grad_.view(), 0.0f);
    kernels_.softmax_backward_rowsum(layout_, out, dout, rowsum_.view());
    const View q_in = operand(q, 0), dout_in = operand(dout, 3);
    for (std::size_t m = 0; m < slices_.size(); ++m) {
      if (slices_[m]->empty()) continue;
      const auto b = block(gathered_, m);
      const auto g = block(gathered_grad_, m);
      kernels_.backward_accumulate(layout_, *slices_[m], q_in, operand(b.k, 1), operand(b.v, 2), out, dout_in, lse,
                                   rowsum_.view(), dq, g.k, g.v);
    }
  });
  auto reduce = group_.start_reduce_scatterv(gathered_grad_.view(), dkv, counts_);
  group_.wait(reduce);
}

}  // namespace flexcp::attn
