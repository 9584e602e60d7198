#include "attn/needed_kv_attention.hpp"

#include <algorithm>

#include "attn/kv_pieces.hpp"
#include "common/error.hpp"

namespace flexcp::attn {

NeededKvAttention::NeededKvAttention(comm::Transport& transport, Kernels& kernels, const sched::GroupProgram& program,
                                     const HeadLayout& layout)
    : transport_(transport), kernels_(kernels), program_(program), layout_(layout), tokens_(program.local().tokens()) {
  const int p = program_.group_size();
  FLEXCP_CHECK(program_.members[static_cast<std::size_t>(program_.position)] == transport_.rank(),
               "the program is not this rank's");
  FLEXCP_CHECK(transport_.space() == kernels_.space(), "the needed-KV executor's transport and kernels use different memory");
  own_slices_ = kernels_.prepare(build_slices(program_.local(), program_.local()));
  slices_from_.resize(static_cast<std::size_t>(p));
  pack_.resize(static_cast<std::size_t>(p));
  unpack_.resize(static_cast<std::size_t>(p));
  std::int64_t most_received = 0, most_served = 0;
  for (int m = 0; m < p; ++m) {
    if (m == program_.position) continue;
    const auto i = static_cast<std::size_t>(m);
    const auto& incoming = program_.receive_from[i];
    const auto& served = program_.serve_to[i];
    slices_from_[i] = kernels_.prepare(build_slices(program_.local(), sched::message_shard(incoming)));
    pack_[i] = kernels_.prepare(pack_blocks(served, tokens_, layout_));
    unpack_[i] = kernels_.prepare(unpack_blocks(served, tokens_, layout_));
    most_received = std::max(most_received, sched::piece_tokens(incoming));
    most_served = std::max(most_served, sched::piece_tokens(served));
  }
  for (int i = 0; i < 2; ++i) {
    recv_[i] = kernels_.allocate("flexcp::needed_kv::kv_in", kv_floats(most_received, layout_));
    send_[i] = kernels_.allocate("flexcp::needed_kv::kv_out", kv_floats(most_served, layout_));
    dkv_out_[i] = kernels_.allocate("flexcp::needed_kv::dkv_out", kv_floats(most_received, layout_));
    dkv_in_[i] = kernels_.allocate("flexcp::needed_kv::dkv_in", kv_floats(most_served, layout_));
  }
  out_partial_ = kernels_.allocate("flexcp::needed_kv::out_partial", q_floats(tokens_, layout_));
  lse_partial_ = kernels_.allocate("flexcp::needed_kv::lse_partial", row_floats(tokens_, layout_));
  rowsum_ = kernels_.allocate("flexcp::needed_kv::dO_dot_O", row_floats(tokens_, layout_));
}

int NeededKvAttention::from(int step) const {
  const int p = program_.group_size();
  return (program_.position - step + p) % p;
}
int NeededKvAttention::to(int step) const { return (program_.position + step) % program_.group_size(); }

std::int64_t NeededKvAttention::tokens_in(int step) const {
  return sched::piece_tokens(program_.receive_from[static_cast<std::size_t>(from(step))]);
}
std::int64_t NeededKvAttention::tokens_out(int step) const {
  return sched::piece_tokens(program_.serve_to[static_cast<std::size_t>(to(step))]);
}

View NeededKvAttention::received(int step) const { return recv_[step % 2].slice(0, kv_floats(tokens_in(step), layout_)); }

View NeededKvAttention::operand(const View& values, int slot) { return kernels_.operand(values, scratch_[slot]); }

double NeededKvAttention::local_mask_area() const {
  double area = own_slices_->area();
  for (const auto& s : slices_from_)
    if (s) area += s->area();
  return area;
}

void NeededKvAttention::add_kv(comm::Stage& stage, int step, const View& kv) {
  if (tokens_in(step) > 0) stage.recv(received(step), program_.members[static_cast<std::size_t>(from(step))]);
  if (tokens_out(step) > 0) {
    const View message = send_[step % 2].slice(0, kv_floats(tokens_out(step), layout_));
    kernels_.timed([&] { kernels_.copy(*pack_[static_cast<std::size_t>(to(step))], kv, message, false); });
    stage.send(message, program_.members[static_cast<std::size_t>(to(step))]);
  }
}

void NeededKvAttention::add_partials(comm::Stage& stage, int step) {
  if (tokens_in(step) > 0)
    stage.send(dkv_out_[step % 2].slice(0, kv_floats(tokens_in(step), layout_)),
               program_.members[static_cast<std::size_t>(from(step))]);
  if (tokens_out(step) > 0)
    stage.recv(dkv_in_[step % 2].slice(0, kv_floats(tokens_out(step), layout_)),
               program_.members[static_cast<std::size_t>(to(step))]);
}

void NeededKvAttention::reduce_returned(int step, const View& dkv) {
  if (tokens_out(step) == 0) return;
  kernels_.timed([&] {
    kernels_.copy(*unpack_[static_cast<std::size_t>(to(step))],
                  dkv_in_[step % 2].slice(0, kv_floats(tokens_out(step), layout_)), dkv, true);
  });
}

void NeededKvAttention::forward(const View& q, const View& kv, const View& out, const View& lse) {
  const int p = program_.group_size();
  auto post_kv = [&](int step) {
    comm::Stage stage;
    add_kv(stage, step, kv);
    return transport_.post(stage);
  };
  auto next = p > 1 ? post_kv(1) : comm::Transport::Ticket{};
  View q_in;
  kernels_.timed([&] {
    q_in = operand(q, 0);
    const auto own = split_kv(kv);  // also initialises every row of out and lse
    kernels_.forward_partial(layout_, *own_slices_, q_in, operand(own.k, 1), operand(own.v, 2), out, lse);
  });
  for (int s = 1; s < p; ++s) {
    auto now = next;
    next = s + 1 < p ? post_kv(s + 1) : comm::Transport::Ticket{};
    transport_.wait(now);
    if (tokens_in(s) == 0) continue;
    kernels_.timed([&] {
      const auto block = split_kv(received(s));
      kernels_.forward_partial(layout_, *slices_from_[static_cast<std::size_t>(from(s))], q_in, operand(block.k, 1),
                               operand(block.v, 2), out_partial_.view(), lse_partial_.view());
      kernels_.merge_partial(layout_, out, lse, out_partial_.view(), lse_partial_.view());
    });
  }
}

void NeededKvAttention::backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout,
                                 const View& dq, const View& dkv) {
  const int p = program_.group_size();
  View q_in, dout_in;
  kernels_.timed([&] {
    kernels_.fill(dq, 0.0f);
    kernels_.fill(dkv, 0.0f);
    kernels_.softmax_backward_rowsum(layout_, out, dout, rowsum_.view());
    q_in = operand(q, 0);
    dout_in = operand(dout, 3);
  });
  comm::Transport::Ticket pending;
  if (p > 1) {
    comm::Stage first;
    add_kv(first, 1, kv);
    pending = transport_.post(first);
  }
  kernels_.timed([&] {
    const auto own = split_kv(kv);
    const auto grad = split_kv(dkv);
    kernels_.backward_accumulate(layout_, *own_slices_, q_in, operand(own.k, 1), operand(own.v, 2), out, dout_in, lse,
                                 rowsum_.view(), dq, grad.k, grad.v);
  });
  for (int s = 1; s < p; ++s) {
    transport_.wait(pending);  // the KV of step s; the partials returned for step s-2
    if (s >= 3) reduce_returned(s - 2, dkv);
    comm::Stage stage;
    if (s + 1 < p) add_kv(stage, s + 1, kv);
    if (s >= 2) add_partials(stage, s - 1);
    pending = transport_.post(stage);
    if (tokens_in(s) == 0) continue;
    kernels_.timed([&] {
      const auto block = split_kv(received(s));
      const View partial = dkv_out_[s % 2].slice(0, kv_floats(tokens_in(s), layout_));
      const auto grad = split_kv(partial);
      kernels_.fill(partial, 0.0f);
      kernels_.backward_accumulate(layout_, *slices_from_[static_cast<std::size_t>(from(s))], q_in, operand(block.k, 1),
                                   operand(block.v, 2), out, dout_in, lse, rowsum_.view(), dq, grad.k, grad.v);
    });
  }
  if (p > 1) {
    transport_.wait(pending);
    if (p >= 3) reduce_returned(p - 2, dkv);
    comm::Stage last;
    add_partials(last, p - 1);
    pending = transport_.post(last);
    transport_.wait(pending);
    reduce_returned(p - 1, dkv);
  }
}

}  // namespace flexcp::attn
