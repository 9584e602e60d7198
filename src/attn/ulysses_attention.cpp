#include "attn/ulysses_attention.hpp"

#include <algorithm>
#include <limits>

#include "attn/head_sequence.hpp"
#include "common/error.hpp"

namespace flexcp::attn {

std::string ulysses_layout_problem(int members, const HeadLayout& layout) {
  if (layout.q_heads % members != 0)
    return "a head-parallel (all-to-all) group of " + std::to_string(members) + " ranks needs H_q = " +
           std::to_string(layout.q_heads) + " divisible by the group size";
  if (layout.kv_heads % members != 0 && members % layout.kv_heads != 0)
    return "a head-parallel (all-to-all) group of " + std::to_string(members) + " ranks needs H_kv = " +
           std::to_string(layout.kv_heads) + " to divide it or be divisible by it";
  return "";
}

UlyssesAttention::UlyssesAttention(comm::GroupCollectives& group, Kernels& kernels, const sched::GroupProgram& program,
                                   const HeadLayout& layout, std::unique_ptr<GroupAttention> heads_attention)
    : group_(group),
      kernels_(kernels),
      layout_(layout),
      p_(program.group_size()),
      me_(program.position),
      heads_attention_(std::move(heads_attention)) {
  if (auto problem = ulysses_layout_problem(p_, layout_); !problem.empty()) throw Error(problem);
  FLEXCP_CHECK(group_.size() == p_ && group_.position() == me_, "the group communicator does not match the group");
  FLEXCP_CHECK(group_.space() == kernels_.space(), "the Ulysses executor's collectives and kernels use different memory");
  head_layout_ = head_shard_layout(layout_, p_);
  whole_ = program.member_whole_tokens;
  for (int j = 0; j < p_; ++j)
    split_.push_back(program.shards[static_cast<std::size_t>(j)].tokens() - whole_[static_cast<std::size_t>(j)]);
  const auto sequence = head_sequence(program.shards, whole_, 0, p_);
  runs_ = sequence.runs;
  seq_tokens_ = sequence.tokens();
  sched::RankShard whole;
  for (const auto& seg : program.local().segments)
    if (seg.local_begin < program.whole_tokens()) whole.segments.push_back(seg);
  local_tokens_ = program.local().tokens();
  whole_slices_ = kernels_.prepare(build_slices(whole, whole));
  if (!heads_attention_) seq_slices_ = kernels_.prepare(build_slices(sequence.shard, sequence.shard));

  const auto& h = head_layout_;
  std::vector<int> q_first, kv_firsts;
  for (int j = 0; j < p_; ++j) {
    q_first.push_back(j * h.q_heads);
    kv_firsts.push_back(kv_first(j));
  }
  const Part q{layout_.q_heads, h.q_heads, q_first, false};
  const Part k{layout_.kv_heads, h.kv_heads, kv_firsts, false}, v = k;
  Part dk = k;
  dk.accumulate = true;
  qkv_to_heads_ = to_heads({q, k, v});
  out_from_heads_ = from_heads({q});
  dout_to_heads_ = to_heads({q});
  grads_from_heads_ = from_heads({q, dk, dk});

  q_h_ = kernels_.allocate("flexcp::ulysses::q_heads", q_floats(seq_tokens_, h));
  out_h_ = kernels_.allocate("flexcp::ulysses::out_heads", q_floats(seq_tokens_, h));
  dout_h_ = kernels_.allocate("flexcp::ulysses::dout_heads", q_floats(seq_tokens_, h));
  dq_h_ = kernels_.allocate("flexcp::ulysses::dq_heads", q_floats(seq_tokens_, h));
  lse_h_ = kernels_.allocate("flexcp::ulysses::lse_heads", row_floats(seq_tokens_, h));
  rowsum_h_ = kernels_.allocate("flexcp::ulysses::dO_dot_O_heads", row_floats(seq_tokens_, h));
  rowsum_ = kernels_.allocate("flexcp::ulysses::dO_dot_O", row_floats(local_tokens_, layout_));
  kv_h_ = kernels_.allocate("flexcp::ulysses::kv_heads", kv_floats(seq_tokens_, h));
  dkv_h_ = kernels_.allocate("flexcp::ulysses::dkv_heads", kv_floats(seq_tokens_, h));
  std::int64_t most_sent = 0, most_received = 0;
  for (const auto* t : {&qkv_to_heads_, &out_from_heads_, &dout_to_heads_, &grads_from_heads_}) {
    most_sent = std::max(most_sent, static_cast<std::int64_t>(comm::total_of(t->send_counts)));
    most_received = std::max(most_received, static_cast<std::int64_t>(comm::total_of(t->recv_counts)));
  }
  send_ = kernels_.allocate("flexcp::ulysses::send", most_sent);
  recv_ = kernels_.allocate("flexcp::ulysses::recv", most_received);
}

int UlyssesAttention::kv_first(int member) const {
  // Member j's query heads [j a, (j+1) a) use KV heads from (j a) / (H_q / H_kv) on.
  return member * head_layout_.q_heads / layout_.queries_per_kv();
}

std::vector<std::int64_t> UlyssesAttention::member_offsets(std::int64_t row) const {
  std::vector<std::int64_t> at;
  std::int64_t offset = 0;
  for (auto tokens : split_) {
    at.push_back(offset);
    offset += tokens * row;
  }
  return at;
}

std::int64_t UlyssesAttention::run_offset(const SequenceRun& run, std::int64_t part_offset, std::int64_t width) const {
  return split_[static_cast<std::size_t>(run.member)] * part_offset + run.member_offset * width;
}

View UlyssesAttention::operand(const View& values, int slot) { return kernels_.operand(values, scratch_[slot]); }

double UlyssesAttention::local_mask_area() const {
  const double heads_area = heads_attention_ ? heads_attention_->local_mask_area() : seq_slices_->area();
  return whole_slices_->area() + heads_area * head_layout_.q_heads / layout_.q_heads;
}

// Send buffer: for each member j, for each part, this member's split tokens with j's heads.
// Receive buffer: for each member j, for each part, j's split tokens with this member's heads.
UlyssesAttention::Transpose UlyssesAttention::to_heads(std::vector<Part> parts) {
  const std::int64_t d = layout_.head_dim;
  Transpose t;
  std::int64_t row = 0;  // elements per token over every part
  for (const auto& part : parts) row += part.width * d;
  const auto mine = split_[static_cast<std::size_t>(me_)], first_row = whole_[static_cast<std::size_t>(me_)];
  const auto member_at = member_offsets(row);  // receive buffer
  std::int64_t part_offset = 0;  // elements per token of the parts before this one
  for (const auto& part : parts) {
    const std::int64_t w = part.width * d;
    std::vector<BlockCopy> pack, unpack;
    for (int j = 0; j < p_; ++j) {
      const auto i = static_cast<std::size_t>(j);
      pack.push_back({(first_row * part.token_heads + part.first[i]) * d, j * mine * row + mine * part_offset, w, mine,
                      part.token_heads * d, w});
    }
    for (const auto& run : runs_)
      unpack.push_back({member_at[static_cast<std::size_t>(run.member)] + run_offset(run, part_offset, w),
                        run.sequence_offset * w, run.length * w});
    t.pack.push_back(kernels_.prepare(std::move(pack)));
    t.unpack.push_back({kernels_.prepare(std::move(unpack))});
    part_offset += w;
  }
  for (int j = 0; j < p_; ++j) {
    t.send_counts.push_back(mine * row);
    t.recv_counts.push_back(split_[static_cast<std::size_t>(j)] * row);
  }
  t.parts = std::move(parts);
  return t;
}

// Send buffer: for each member j, for each part, j's split tokens with this member's heads.
// Receive buffer: for each member j, for each part, this member's split tokens with j's heads.
UlyssesAttention::Transpose UlyssesAttention::from_heads(std::vector<Part> parts) {
  const std::int64_t d = layout_.head_dim;
  Transpose t;
  std::int64_t row = 0;
  for (const auto& part : parts) row += part.width * d;
  const auto mine = split_[static_cast<std::size_t>(me_)], first_row = whole_[static_cast<std::size_t>(me_)];
  const auto member_at = member_offsets(row);  // send buffer
  std::int64_t part_offset = 0;
  for (const auto& part : parts) {
    const std::int64_t w = part.width * d;
    std::vector<BlockCopy> pack, unpack;
    std::vector<std::shared_ptr<const PreparedCopies>> per_member;
    for (const auto& run : runs_)
      pack.push_back({run.sequence_offset * w, member_at[static_cast<std::size_t>(run.member)] + run_offset(run, part_offset, w),
                      run.length * w});
    for (int j = 0; j < p_; ++j) {
      const auto i = static_cast<std::size_t>(j);
      const BlockCopy back{j * mine * row + mine * part_offset, (first_row * part.token_heads + part.first[i]) * d, w, mine,
                           w, part.token_heads * d};
      if (part.accumulate) per_member.push_back(kernels_.prepare(std::vector<BlockCopy>{back}));
      else unpack.push_back(back);
    }
    t.pack.push_back(kernels_.prepare(std::move(pack)));
    if (!part.accumulate) per_member.push_back(kernels_.prepare(std::move(unpack)));
    t.unpack.push_back(std::move(per_member));
    part_offset += w;
  }
  for (int j = 0; j < p_; ++j) {
    t.send_counts.push_back(split_[static_cast<std::size_t>(j)] * row);
    t.recv_counts.push_back(mine * row);
  }
  t.parts = std::move(parts);
  return t;
}

void UlyssesAttention::run(const Transpose& t, const std::vector<View>& sources, const std::vector<View>& targets) {
  const auto sent = static_cast<std::int64_t>(comm::total_of(t.send_counts));
  const auto received = static_cast<std::int64_t>(comm::total_of(t.recv_counts));
  kernels_.timed([&] {
    for (std::size_t i = 0; i < t.parts.size(); ++i) kernels_.copy(*t.pack[i], sources[i], send_.view(), false);
  });
  auto ticket = group_.start_alltoallv(send_.slice(0, sent), t.send_counts, recv_.slice(0, received), t.recv_counts);
  group_.wait(ticket);
  kernels_.timed([&] {
    for (std::size_t i = 0; i < t.parts.size(); ++i)
      for (const auto& copies : t.unpack[i]) kernels_.copy(*copies, recv_.view(), targets[i], t.parts[i].accumulate);
  });
}

void UlyssesAttention::forward(const View& q, const View& kv, const View& out, const View& lse) {
  const auto local = split_kv(kv);
  const auto heads = split_kv(kv_h_.view());
  // Whole documents first (this also initialises every row); split rows are overwritten below.
  kernels_.timed([&] {
    kernels_.forward_partial(layout_, *whole_slices_, operand(q, 0), operand(local.k, 1), operand(local.v, 2), out, lse);
  });
  run(qkv_to_heads_, {q, local.k, local.v}, {q_h_.view(), heads.k, heads.v});
  if (heads_attention_) {
    heads_attention_->forward(q_h_.view(), kv_h_.view(), out_h_.view(), lse_h_.view());
  } else {
    kernels_.timed([&] {
      kernels_.forward_partial(head_layout_, *seq_slices_, operand(q_h_.view(), 0), operand(heads.k, 1),
                               operand(heads.v, 2), out_h_.view(), lse_h_.view());
    });
  }
  run(out_from_heads_, {out_h_.view()}, {out});
  const auto whole = whole_[static_cast<std::size_t>(me_)];
  kernels_.timed([&] {
    kernels_.fill(lse.slice(row_floats(whole, layout_), row_floats(local_tokens_ - whole, layout_)),
                  std::numeric_limits<float>::quiet_NaN());
  });
}

void UlyssesAttention::backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout,
                                const View& dq, const View& dkv) {
  const auto local = split_kv(kv);
  const auto grad = split_kv(dkv);
  kernels_.timed([&] {
    kernels_.fill(dq, 0.0f);
    kernels_.fill(dkv, 0.0f);
    kernels_.softmax_backward_rowsum(layout_, out, dout, rowsum_.view());
    kernels_.backward_accumulate(layout_, *whole_slices_, operand(q, 0), operand(local.k, 1), operand(local.v, 2), out,
                                 operand(dout, 3), lse, rowsum_.view(), dq, grad.k, grad.v);
  });
  run(dout_to_heads_, {dout}, {dout_h_.view()});
  const auto heads = split_kv(kv_h_.view());
  const auto head_grads = split_kv(dkv_h_.view());
  if (heads_attention_) {
    heads_attention_->backward(q_h_.view(), kv_h_.view(), out_h_.view(), lse_h_.view(), dout_h_.view(), dq_h_.view(),
                               dkv_h_.view());
  } else {
    kernels_.timed([&] {
      kernels_.fill(dq_h_.view(), 0.0f);
      kernels_.fill(dkv_h_.view(), 0.0f);
      kernels_.softmax_backward_rowsum(head_layout_, out_h_.view(), dout_h_.view(), rowsum_h_.view());
      kernels_.backward_accumulate(head_layout_, *seq_slices_, operand(q_h_.view(), 0), operand(heads.k, 1),
                                   operand(heads.v, 2), out_h_.view(), operand(dout_h_.view(), 3), lse_h_.view(),
                                   rowsum_h_.view(),
                                   dq_h_.view(), head_grads.k, head_grads.v);
    });
  }
  run(grads_from_heads_, {dq_h_.view(), head_grads.k, head_grads.v}, {dq, grad.k, grad.v});
}

}  // namespace flexcp::attn
