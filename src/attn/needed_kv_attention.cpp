#include "attn/needed_kv_attention.hpp"

#include <algorithm>

#include "attn/host_kernels.hpp"
#include "attn/kv_pieces.hpp"
#include "common/error.hpp"

namespace flexcp::attn {
namespace {
constexpr int kKvTag = 201;
constexpr int kDkvTag = 202;
}  // namespace

NeededKvAttention::NeededKvAttention(comm::Transport& transport, const sched::GroupProgram& program,
                                     const HeadLayout& layout)
    : transport_(transport), program_(program), layout_(layout), tokens_(program.local().tokens()) {
  const int p = program_.group_size();
  FLEXCP_CHECK(program_.members[static_cast<std::size_t>(program_.position)] == transport_.rank(),
               "the program is not this rank's");
  own_slices_ = build_slices(program_.local(), program_.local());
  slices_from_.resize(static_cast<std::size_t>(p));
  std::int64_t most_received = 0, most_served = 0;
  for (int m = 0; m < p; ++m) {
    if (m == program_.position) continue;
    const auto& pieces = program_.receive_from[static_cast<std::size_t>(m)];
    slices_from_[static_cast<std::size_t>(m)] = build_slices(program_.local(), sched::message_shard(pieces));
    most_received = std::max(most_received, sched::piece_tokens(pieces));
    most_served = std::max(most_served, sched::piece_tokens(program_.serve_to[static_cast<std::size_t>(m)]));
  }
  for (int i = 0; i < 2; ++i) {
    recv_[i] = make_flat("flexcp::needed_kv::kv_in", kv_floats(most_received, layout_));
    send_[i] = make_flat("flexcp::needed_kv::kv_out", kv_floats(most_served, layout_));
    dkv_out_[i] = make_flat("flexcp::needed_kv::dkv_out", kv_floats(most_received, layout_));
    dkv_in_[i] = make_flat("flexcp::needed_kv::dkv_in", kv_floats(most_served, layout_));
  }
  out_partial_ = make_tensor("flexcp::needed_kv::out_partial", tokens_, layout_.q_heads, layout_.head_dim);
  lse_partial_ = make_row_stats("flexcp::needed_kv::lse_partial", tokens_, layout_.q_heads);
  rowsum_ = make_row_stats("flexcp::needed_kv::dO_dot_O", tokens_, layout_.q_heads);
}

int NeededKvAttention::from(int stage) const {
  const int p = program_.group_size();
  return (program_.position - stage + p) % p;
}
int NeededKvAttention::to(int stage) const { return (program_.position + stage) % program_.group_size(); }

double NeededKvAttention::local_mask_area() const {
  double area = own_slices_.area();
  for (const auto& s : slices_from_) area += s.area();
  return area;
}

NeededKvAttention::Exchange NeededKvAttention::post_kv(int stage, const Flat& kv) {
  Exchange x;
  const auto& incoming = program_.receive_from[static_cast<std::size_t>(from(stage))];
  const auto& outgoing = program_.serve_to[static_cast<std::size_t>(to(stage))];
  const auto n_in = sched::piece_tokens(incoming), n_out = sched::piece_tokens(outgoing);
  if (n_in > 0)
    x.recv = transport_.irecv(recv_[stage % 2].data(), kv_floats(n_in, layout_),
                              program_.members[static_cast<std::size_t>(from(stage))], kKvTag);
  if (n_out > 0) {
    timed([&] { pack_pieces(kv.data(), tokens_, outgoing, layout_, send_[stage % 2].data()); });
    x.send = transport_.isend(send_[stage % 2].data(), kv_floats(n_out, layout_),
                              program_.members[static_cast<std::size_t>(to(stage))], kKvTag);
  }
  return x;
}

void NeededKvAttention::finish(std::optional<comm::Transport::Ticket>& ticket) {
  if (!ticket) return;
  transport_.wait(*ticket);
  ticket.reset();
}

void NeededKvAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  const int p = program_.group_size();
  Exchange next = p > 1 ? post_kv(1, kv) : Exchange{};
  const auto own = kv_refs(kv.data(), tokens_, layout_.kv_heads, layout_.head_dim);
  timed([&] { forward_partial(layout_, own_slices_, ref(q), own.k, own.v, ref(out), ref(lse)); });
  for (int s = 1; s < p; ++s) {
    Exchange now = std::move(next);
    next = s + 1 < p ? post_kv(s + 1, kv) : Exchange{};
    finish(now.recv);
    const auto n_in = sched::piece_tokens(program_.receive_from[static_cast<std::size_t>(from(s))]);
    if (n_in > 0) {
      const auto block = kv_refs(recv_[s % 2].data(), n_in, layout_.kv_heads, layout_.head_dim);
      timed([&] {
        forward_partial(layout_, slices_from_[static_cast<std::size_t>(from(s))], ref(q), block.k, block.v,
                        ref(out_partial_), ref(lse_partial_));
        merge_partial(ref(out), ref(lse), ref(out_partial_), ref(lse_partial_));
      });
    }
    finish(now.send);
  }
}

void NeededKvAttention::backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse,
                                 const Tensor3& dout, const Tensor3& dq, const Flat& dkv) {
  const int p = program_.group_size();
  Kokkos::deep_copy(dq, 0.0f);
  Kokkos::deep_copy(dkv, 0.0f);
  timed([&] { softmax_backward_rowsum(ref(out), ref(dout), ref(rowsum_)); });
  Exchange next = p > 1 ? post_kv(1, kv) : Exchange{};
  const auto own = kv_refs(kv.data(), tokens_, layout_.kv_heads, layout_.head_dim);
  const auto own_grad = kv_refs(dkv.data(), tokens_, layout_.kv_heads, layout_.head_dim);
  timed([&] {
    backward_accumulate(layout_, own_slices_, ref(q), own.k, own.v, ref(dout), ref(lse), ref(rowsum_), ref(dq),
                        own_grad.k, own_grad.v);
  });
  std::optional<comm::Transport::Ticket> partial_back[2], partial_in[2];
  // The partials for the KV served at `stage` come back from the member served then.
  auto reduce_returned = [&](int stage) {
    auto& ticket = partial_in[stage % 2];
    if (!ticket) return;
    finish(ticket);
    timed([&] {
      add_pieces(dkv_in_[stage % 2].data(), program_.serve_to[static_cast<std::size_t>(to(stage))], layout_, dkv.data(),
                 tokens_);
    });
  };
  for (int s = 1; s < p; ++s) {
    Exchange now = std::move(next);
    next = s + 1 < p ? post_kv(s + 1, kv) : Exchange{};
    const auto n_out = sched::piece_tokens(program_.serve_to[static_cast<std::size_t>(to(s))]);
    if (n_out > 0)
      partial_in[s % 2] = transport_.irecv(dkv_in_[s % 2].data(), kv_floats(n_out, layout_),
                                           program_.members[static_cast<std::size_t>(to(s))], kDkvTag);
    finish(now.recv);
    const auto n_in = sched::piece_tokens(program_.receive_from[static_cast<std::size_t>(from(s))]);
    if (n_in > 0) {
      const auto block = kv_refs(recv_[s % 2].data(), n_in, layout_.kv_heads, layout_.head_dim);
      const auto grad = kv_refs(dkv_out_[s % 2].data(), n_in, layout_.kv_heads, layout_.head_dim);
      timed([&] {
        Kokkos::deep_copy(dkv_out_[s % 2], 0.0f);
        backward_accumulate(layout_, slices_from_[static_cast<std::size_t>(from(s))], ref(q), block.k, block.v,
                            ref(dout), ref(lse), ref(rowsum_), ref(dq), grad.k, grad.v);
      });
      partial_back[s % 2] = transport_.isend(dkv_out_[s % 2].data(), kv_floats(n_in, layout_),
                                             program_.members[static_cast<std::size_t>(from(s))], kDkvTag);
    }
    finish(now.send);
    if (s > 1) {
      reduce_returned(s - 1);
      finish(partial_back[(s - 1) % 2]);
    }
  }
  if (p > 1) {
    reduce_returned(p - 1);
    for (auto& t : partial_back) finish(t);
  }
}

}  // namespace flexcp::attn
