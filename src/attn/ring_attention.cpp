#include "attn/ring_attention.hpp"

#include <algorithm>
#include <limits>

#include "common/error.hpp"

namespace flexcp::attn {

RingAttention::RingAttention(comm::Transport& transport, Kernels& kernels, std::vector<int> members,
                             std::vector<sched::RankShard> shards, const HeadLayout& layout)
    : transport_(transport), kernels_(kernels), members_(std::move(members)), shards_(std::move(shards)), layout_(layout) {
  FLEXCP_CHECK(!members_.empty() && members_.size() == shards_.size(), "one shard per group member");
  FLEXCP_CHECK(transport_.space() == kernels_.space(), "the ring's transport and kernels use different memory");
  auto me = std::find(members_.begin(), members_.end(), transport_.rank());
  FLEXCP_CHECK(me != members_.end(), "this rank is not a member of the ring");
  position_ = static_cast<std::size_t>(me - members_.begin());

  std::int64_t capacity = 0;
  for (const auto& shard : shards_) capacity = std::max(capacity, shard.tokens());
  const std::int64_t mine = local_tokens();
  for (int s = 0; s < static_cast<int>(members_.size()); ++s)
    slices_.push_back(kernels_.prepare(build_slices(shards_[position_], shards_[static_cast<std::size_t>(member_at(s))])));
  for (auto& buffer : kv_in_) buffer = kernels_.allocate("flexcp::ring::kv_in", kv_floats(capacity, layout_));
  for (auto& buffer : dkv_acc_) buffer = kernels_.allocate("flexcp::ring::dkv_partial", kv_floats(capacity, layout_));
  dkv_in_ = kernels_.allocate("flexcp::ring::dkv_in", kv_floats(capacity, layout_));
  out_partial_ = kernels_.allocate("flexcp::ring::out_partial", q_floats(mine, layout_));
  lse_partial_ = kernels_.allocate("flexcp::ring::lse_partial", row_floats(mine, layout_));
  rowsum_ = kernels_.allocate("flexcp::ring::dO_dot_O", row_floats(mine, layout_));
}

int RingAttention::member_at(int steps_behind) const {
  const int p = static_cast<int>(members_.size());
  return ((static_cast<int>(position_) - steps_behind) % p + p) % p;
}

std::int64_t RingAttention::kv_count(int steps_behind) const {
  return kv_floats(shards_[static_cast<std::size_t>(member_at(steps_behind))].tokens(), layout_);
}

View RingAttention::operand(const View& values, int slot) { return kernels_.operand(values, scratch_[slot]); }

double RingAttention::local_mask_area() const {
  double area = 0.0;
  for (const auto& s : slices_) area += s->area();
  return area;
}

void RingAttention::forward(const View& q, const View& kv, const View& out, const View& lse) {
  const int p = static_cast<int>(members_.size());
  const int next = members_[(position_ + 1) % members_.size()];
  const int prev = members_[static_cast<std::size_t>(member_at(1))];
  View q_in;
  kernels_.timed([&] {
    kernels_.fill(lse, -std::numeric_limits<float>::infinity());
    kernels_.fill(out, 0.0f);
    q_in = operand(q, 0);
  });
  View held = kv;
  for (int s = 0; s < p; ++s) {
    comm::Transport::Ticket ticket;
    View incoming;
    if (s + 1 < p) {
      incoming = kv_in_[s % 2].slice(0, kv_count(s + 1));
      ticket = transport_.post(comm::Stage().send(held, next).recv(incoming, prev));
    }
    if (!slices_[static_cast<std::size_t>(s)]->empty())
      kernels_.timed([&] {
        const auto block = split_kv(held);
        kernels_.forward_partial(layout_, *slices_[static_cast<std::size_t>(s)], q_in, operand(block.k, 1),
                                 operand(block.v, 2), out_partial_.view(), lse_partial_.view());
        kernels_.merge_partial(layout_, out, lse, out_partial_.view(), lse_partial_.view());
      });
    transport_.wait(ticket);
    held = incoming;
  }
}

void RingAttention::backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout,
                             const View& dq, const View& dkv) {
  const int p = static_cast<int>(members_.size());
  const int next = members_[(position_ + 1) % members_.size()];
  const int prev = members_[static_cast<std::size_t>(member_at(1))];
  View q_in, dout_in;
  kernels_.timed([&] {
    kernels_.fill(dq, 0.0f);
    kernels_.softmax_backward_rowsum(layout_, out, dout, rowsum_.view());
    q_in = operand(q, 0);
    dout_in = operand(dout, 3);
  });

  View held = kv;
  for (int s = 0; s < p; ++s) {
    comm::Stage stage;
    View incoming, partial_in;
    if (s + 1 < p) {
      incoming = kv_in_[s % 2].slice(0, kv_count(s + 1));
      stage.send(held, next).recv(incoming, prev);
    }
    if (s > 0) {
      // The partial finished at step s-1 moves on; the previous member's partial of the shard
      // held now (it worked on it at step s-1) comes in.
      partial_in = dkv_in_.slice(0, kv_count(s));
      stage.send(dkv_acc_[(s - 1) % 2].slice(0, kv_count(s - 1)), next).recv(partial_in, prev);
    }
    auto ticket = transport_.post(stage);
    // With P == 1 the accumulator is the result.
    const View acc = p == 1 ? dkv : dkv_acc_[s % 2].slice(0, kv_count(s));
    kernels_.timed([&] {
      kernels_.fill(acc, 0.0f);
      if (slices_[static_cast<std::size_t>(s)]->empty()) return;
      const auto block = split_kv(held);
      const auto grad = split_kv(acc);
      kernels_.backward_accumulate(layout_, *slices_[static_cast<std::size_t>(s)], q_in, operand(block.k, 1),
                                   operand(block.v, 2), out, dout_in, lse, rowsum_.view(), dq, grad.k, grad.v);
    });
    transport_.wait(ticket);
    if (s > 0) kernels_.timed([&] { kernels_.accumulate(acc, partial_in); });
    held = incoming;
  }
  if (p > 1) {
    // After the last step this rank's own shard's partial, complete, comes from prev.
    auto ticket = transport_.post(comm::Stage().send(dkv_acc_[(p - 1) % 2].slice(0, kv_count(p - 1)), next).recv(dkv, prev));
    transport_.wait(ticket);
  }
}

}  // namespace flexcp::attn
