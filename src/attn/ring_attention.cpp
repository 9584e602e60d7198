#include "attn/ring_attention.hpp"

#include <algorithm>
#include <optional>

#include "attn/host_kernels.hpp"
#include "common/error.hpp"

namespace flexcp::attn {
namespace {
constexpr int kKvTag = 101;
constexpr int kDkvTag = 102;

void add_into(const Flat& dst, const Flat& src, std::int64_t count) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
  Kokkos::parallel_for("flexcp::attn::dkv_accumulate", Policy(0, count), [=](std::int64_t i) { dst(i) += src(i); });
}
void zero(const Flat& dst, std::int64_t count) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
  Kokkos::parallel_for("flexcp::attn::dkv_clear", Policy(0, count), [=](std::int64_t i) { dst(i) = 0.0f; });
}
}  // namespace

RingAttention::RingAttention(comm::Transport& transport, std::vector<int> members,
                             std::vector<sched::RankShard> shards, const HeadLayout& layout)
    : transport_(transport), members_(std::move(members)), shards_(std::move(shards)), layout_(layout) {
  FLEXCP_CHECK(!members_.empty() && members_.size() == shards_.size(), "one shard per group member");
  auto me = std::find(members_.begin(), members_.end(), transport_.rank());
  FLEXCP_CHECK(me != members_.end(), "this rank is not a member of the ring");
  position_ = static_cast<std::size_t>(me - members_.begin());

  std::int64_t capacity = 0;
  for (const auto& shard : shards_) capacity = std::max(capacity, shard.tokens());
  const std::int64_t mine = local_tokens();
  for (int s = 0; s < static_cast<int>(members_.size()); ++s)
    slices_.push_back(build_slices(shards_[position_], shards_[static_cast<std::size_t>(member_at(s))]));
  for (auto& buffer : kv_buffers_) buffer = make_flat("flexcp::ring::kv_recv", kv_floats(capacity, layout_));
  for (auto& buffer : dkv_buffers_) buffer = make_flat("flexcp::ring::dkv_pass", kv_floats(capacity, layout_));
  out_partial_ = make_tensor("flexcp::ring::out_partial", mine, layout_.q_heads, layout_.head_dim);
  lse_partial_ = make_row_stats("flexcp::ring::lse_partial", mine, layout_.q_heads);
  rowsum_ = make_row_stats("flexcp::ring::dO_dot_O", mine, layout_.q_heads);
}

int RingAttention::member_at(int steps_behind) const {
  const int p = static_cast<int>(members_.size());
  return ((static_cast<int>(position_) - steps_behind) % p + p) % p;
}

double RingAttention::local_mask_area() const {
  double area = 0.0;
  for (const auto& s : slices_) area += s.area();
  return area;
}

void RingAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  const int p = static_cast<int>(members_.size());
  const int next = members_[(position_ + 1) % members_.size()];
  const int prev = members_[static_cast<std::size_t>(member_at(1))];
  Kokkos::deep_copy(lse, -std::numeric_limits<float>::infinity());
  Kokkos::deep_copy(out, 0.0f);

  const float* held = kv.data();
  for (int s = 0; s < p; ++s) {
    const auto owner_tokens = shards_[static_cast<std::size_t>(member_at(s))].tokens();
    std::optional<comm::Transport::Ticket> send, recv;
    float* incoming = kv_buffers_[s % 2].data();
    if (s + 1 < p) {
      const auto next_tokens = shards_[static_cast<std::size_t>(member_at(s + 1))].tokens();
      recv = transport_.irecv(incoming, kv_floats(next_tokens, layout_), prev, kKvTag);
      send = transport_.isend(held, kv_floats(owner_tokens, layout_), next, kKvTag);
    }
    const auto block = kv_refs(const_cast<float*>(held), owner_tokens, layout_.kv_heads, layout_.head_dim);
    timed([&] {
      forward_partial(layout_, slices_[static_cast<std::size_t>(s)], ref(q), block.k, block.v, ref(out_partial_),
                      ref(lse_partial_));
      merge_partial(ref(out), ref(lse), ref(out_partial_), ref(lse_partial_));
    });
    if (recv) transport_.wait(*recv);
    if (send) transport_.wait(*send);
    held = incoming;
  }
}

void RingAttention::backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse,
                             const Tensor3& dout, const Tensor3& dq, const Flat& dkv) {
  const int p = static_cast<int>(members_.size());
  const int next = members_[(position_ + 1) % members_.size()];
  const int prev = members_[static_cast<std::size_t>(member_at(1))];
  Kokkos::deep_copy(dq, 0.0f);
  timed([&] { softmax_backward_rowsum(ref(out), ref(dout), ref(rowsum_)); });

  const float* held = kv.data();
  std::optional<comm::Transport::Ticket> dkv_sends[2];
  for (int s = 0; s < p; ++s) {
    const auto owner_tokens = shards_[static_cast<std::size_t>(member_at(s))].tokens();
    const auto dkv_count = kv_floats(owner_tokens, layout_);
    std::optional<comm::Transport::Ticket> send, recv, dkv_recv;
    float* incoming = kv_buffers_[s % 2].data();
    if (s + 1 < p) {
      const auto next_tokens = shards_[static_cast<std::size_t>(member_at(s + 1))].tokens();
      recv = transport_.irecv(incoming, kv_floats(next_tokens, layout_), prev, kKvTag);
      send = transport_.isend(held, kv_floats(owner_tokens, layout_), next, kKvTag);
    }
    // The previous member worked on this shard one step earlier: its dK/dV partial comes next.
    if (s > 0) dkv_recv = transport_.irecv(dkv_buffers_[2].data(), dkv_count, prev, kDkvTag);
    // With P == 1 the accumulator is the result; otherwise alternate two send buffers.
    const Flat& acc = p == 1 ? dkv : dkv_buffers_[s % 2];
    if (auto& pending = dkv_sends[s % 2]) {
      transport_.wait(*pending);
      pending.reset();
    }
    const auto block = kv_refs(const_cast<float*>(held), owner_tokens, layout_.kv_heads, layout_.head_dim);
    const auto grad = kv_refs(acc.data(), owner_tokens, layout_.kv_heads, layout_.head_dim);
    timed([&] {
      zero(acc, dkv_count);
      backward_accumulate(layout_, slices_[static_cast<std::size_t>(s)], ref(q), block.k, block.v, ref(dout), ref(lse),
                          ref(rowsum_), ref(dq), grad.k, grad.v);
    });
    if (dkv_recv) {
      transport_.wait(*dkv_recv);
      timed([&] { add_into(acc, dkv_buffers_[2], dkv_count); });
    }
    if (p > 1) dkv_sends[s % 2] = transport_.isend(acc.data(), dkv_count, next, kDkvTag);
    if (recv) transport_.wait(*recv);
    if (send) transport_.wait(*send);
    held = incoming;
  }
  if (p > 1) {
    // After the last step the partial of this rank's own shard, complete, comes from prev.
    auto own = transport_.irecv(dkv.data(), kv_floats(local_tokens(), layout_), prev, kDkvTag);
    transport_.wait(own);
    for (auto& pending : dkv_sends)
      if (pending) transport_.wait(*pending);
  }
}

}  // namespace flexcp::attn
