#include "attn/ulysses_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attn/host_kernels.hpp"
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

UlyssesAttention::UlyssesAttention(comm::GroupCollectives& group, const sched::GroupProgram& program,
                                   const HeadLayout& layout)
    : group_(group), layout_(layout), p_(program.group_size()), me_(program.position) {
  if (auto problem = ulysses_layout_problem(p_, layout_); !problem.empty()) throw Error(problem);
  FLEXCP_CHECK(group_.size() == p_ && group_.position() == me_, "the group communicator does not match the group");
  head_layout_ = {layout_.q_heads / p_, std::max(1, layout_.kv_heads / p_), layout_.head_dim};
  // The group sequence: every member's split tokens, in member order.
  sched::RankShard sequence, whole;
  for (int j = 0; j < p_; ++j) {
    const auto& shard = program.shards[static_cast<std::size_t>(j)];
    whole_.push_back(program.member_whole_tokens[static_cast<std::size_t>(j)]);
    split_.push_back(shard.tokens() - whole_.back());
    seq_offset_.push_back(seq_tokens_);
    for (const auto& seg : shard.segments) {
      if (seg.local_begin < whole_.back()) {
        if (j == me_) whole.segments.push_back(seg);
        continue;
      }
      auto moved = seg;
      moved.local_begin = seg.local_begin - whole_.back() + seq_tokens_;
      sequence.segments.push_back(moved);
    }
    seq_tokens_ += split_.back();
  }
  local_tokens_ = program.local().tokens();
  whole_slices_ = build_slices(whole, whole);
  seq_slices_ = build_slices(sequence, sequence);
  const auto& h = head_layout_;
  q_h_ = make_tensor("flexcp::ulysses::q_heads", seq_tokens_, h.q_heads, h.head_dim);
  out_h_ = make_tensor("flexcp::ulysses::out_heads", seq_tokens_, h.q_heads, h.head_dim);
  dout_h_ = make_tensor("flexcp::ulysses::dout_heads", seq_tokens_, h.q_heads, h.head_dim);
  dq_h_ = make_tensor("flexcp::ulysses::dq_heads", seq_tokens_, h.q_heads, h.head_dim);
  lse_h_ = make_row_stats("flexcp::ulysses::lse_heads", seq_tokens_, h.q_heads);
  rowsum_h_ = make_row_stats("flexcp::ulysses::dO_dot_O_heads", seq_tokens_, h.q_heads);
  rowsum_ = make_row_stats("flexcp::ulysses::dO_dot_O", local_tokens_, layout_.q_heads);
  kv_h_ = make_flat("flexcp::ulysses::kv_heads", kv_floats(seq_tokens_, h));
  dkv_h_ = make_flat("flexcp::ulysses::dkv_heads", kv_floats(seq_tokens_, h));
}

int UlyssesAttention::kv_first(int member) const {
  // Member j's query heads [j a, (j+1) a) use KV heads from (j a) / (H_q / H_kv) on.
  return member * head_layout_.q_heads / layout_.queries_per_kv();
}

double UlyssesAttention::local_mask_area() const {
  return whole_slices_.area() + seq_slices_.area() * head_layout_.q_heads / layout_.q_heads;
}

std::vector<UlyssesAttention::Part> UlyssesAttention::qkv_parts(const Tensor3& q, const Flat& kv) const {
  std::vector<int> q_first, kv_firsts;
  for (int j = 0; j < p_; ++j) {
    q_first.push_back(j * head_layout_.q_heads);
    kv_firsts.push_back(kv_first(j));
  }
  const auto local = kv_refs(kv.data(), local_tokens_, layout_.kv_heads, layout_.head_dim);
  const auto heads = kv_refs(kv_h_.data(), seq_tokens_, head_layout_.kv_heads, head_layout_.head_dim);
  return {{q.data(), layout_.q_heads, q_h_.data(), head_layout_.q_heads, q_first},
          {local.k.data, layout_.kv_heads, heads.k.data, head_layout_.kv_heads, kv_firsts},
          {local.v.data, layout_.kv_heads, heads.v.data, head_layout_.kv_heads, kv_firsts}};
}

std::int64_t UlyssesAttention::floats_per_token(const std::vector<Part>& parts, std::int64_t head_dim) {
  std::int64_t floats = 0;
  for (const auto& part : parts) floats += part.width * head_dim;
  return floats;
}

void UlyssesAttention::to_heads(const std::vector<Part>& parts) {
  const std::int64_t d = layout_.head_dim;
  const std::int64_t row_floats = floats_per_token(parts, d);
  std::vector<std::int64_t> send_counts, recv_counts;
  for (int j = 0; j < p_; ++j) {
    send_counts.push_back(split_[static_cast<std::size_t>(me_)] * row_floats);
    recv_counts.push_back(split_[static_cast<std::size_t>(j)] * row_floats);
  }
  const auto mine = split_[static_cast<std::size_t>(me_)], first_row = whole_[static_cast<std::size_t>(me_)];
  send_.resize(static_cast<std::size_t>(mine * row_floats * p_));
  recv_.resize(static_cast<std::size_t>(seq_tokens_ * row_floats));
  timed([&] {
    float* dst = send_.data();
    for (int j = 0; j < p_; ++j)
      for (const auto& part : parts)
        for (std::int64_t t = 0; t < mine; ++t, dst += part.width * d) {
          const float* src = part.token_data + ((first_row + t) * part.token_heads + part.first[static_cast<std::size_t>(j)]) * d;
          std::copy(src, src + part.width * d, dst);
        }
  });
  auto ticket = group_.start_alltoallv(send_.data(), send_counts, recv_.data(), recv_counts);
  group_.wait(ticket);
  timed([&] {
    const float* src = recv_.data();
    for (int j = 0; j < p_; ++j)
      for (const auto& part : parts) {
        const auto rows = split_[static_cast<std::size_t>(j)] * part.width * d;
        std::copy(src, src + rows, part.head_data + seq_offset_[static_cast<std::size_t>(j)] * part.width * d);
        src += rows;
      }
  });
}

void UlyssesAttention::from_heads(const std::vector<Part>& parts) {
  const std::int64_t d = layout_.head_dim;
  const std::int64_t row_floats = floats_per_token(parts, d);
  std::vector<std::int64_t> send_counts, recv_counts;
  for (int j = 0; j < p_; ++j) {
    send_counts.push_back(split_[static_cast<std::size_t>(j)] * row_floats);
    recv_counts.push_back(split_[static_cast<std::size_t>(me_)] * row_floats);
  }
  const auto mine = split_[static_cast<std::size_t>(me_)], first_row = whole_[static_cast<std::size_t>(me_)];
  send_.resize(static_cast<std::size_t>(seq_tokens_ * row_floats));
  recv_.resize(static_cast<std::size_t>(mine * row_floats * p_));
  timed([&] {
    float* dst = send_.data();
    for (int j = 0; j < p_; ++j)
      for (const auto& part : parts) {
        const auto rows = split_[static_cast<std::size_t>(j)] * part.width * d;
        const float* src = part.head_data + seq_offset_[static_cast<std::size_t>(j)] * part.width * d;
        std::copy(src, src + rows, dst);
        dst += rows;
      }
  });
  auto ticket = group_.start_alltoallv(send_.data(), send_counts, recv_.data(), recv_counts);
  group_.wait(ticket);
  timed([&] {
    const float* src = recv_.data();
    for (int j = 0; j < p_; ++j)
      for (const auto& part : parts)
        for (std::int64_t t = 0; t < mine; ++t, src += part.width * d) {
          float* dst = part.token_data + ((first_row + t) * part.token_heads + part.first[static_cast<std::size_t>(j)]) * d;
          if (part.accumulate)
            for (std::int64_t e = 0; e < part.width * d; ++e) dst[e] += src[e];
          else
            std::copy(src, src + part.width * d, dst);
        }
  });
}

void UlyssesAttention::forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) {
  const auto local = kv_refs(kv.data(), local_tokens_, layout_.kv_heads, layout_.head_dim);
  // Whole documents first (this also initialises every row); split rows are overwritten below.
  timed([&] { forward_partial(layout_, whole_slices_, ref(q), local.k, local.v, ref(out), ref(lse)); });
  to_heads(qkv_parts(q, kv));
  const auto heads = kv_refs(kv_h_.data(), seq_tokens_, head_layout_.kv_heads, head_layout_.head_dim);
  timed([&] { forward_partial(head_layout_, seq_slices_, ref(q_h_), heads.k, heads.v, ref(out_h_), ref(lse_h_)); });
  from_heads({{out.data(), layout_.q_heads, out_h_.data(), head_layout_.q_heads, qkv_parts(q, kv)[0].first}});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto t = whole_[static_cast<std::size_t>(me_)]; t < local_tokens_; ++t)
    for (int h = 0; h < layout_.q_heads; ++h) lse(t, h) = nan;
}

void UlyssesAttention::backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse,
                                const Tensor3& dout, const Tensor3& dq, const Flat& dkv) {
  Kokkos::deep_copy(dq, 0.0f);
  Kokkos::deep_copy(dkv, 0.0f);
  const auto local = kv_refs(kv.data(), local_tokens_, layout_.kv_heads, layout_.head_dim);
  const auto grad = kv_refs(dkv.data(), local_tokens_, layout_.kv_heads, layout_.head_dim);
  timed([&] {
    softmax_backward_rowsum(ref(out), ref(dout), ref(rowsum_));
    backward_accumulate(layout_, whole_slices_, ref(q), local.k, local.v, ref(dout), ref(lse), ref(rowsum_), ref(dq),
                        grad.k, grad.v);
  });
  auto parts = qkv_parts(q, kv);
  to_heads({{dout.data(), layout_.q_heads, dout_h_.data(), head_layout_.q_heads, parts[0].first}});
  const auto heads = kv_refs(kv_h_.data(), seq_tokens_, head_layout_.kv_heads, head_layout_.head_dim);
  const auto head_grads = kv_refs(dkv_h_.data(), seq_tokens_, head_layout_.kv_heads, head_layout_.head_dim);
  timed([&] {
    Kokkos::deep_copy(dq_h_, 0.0f);
    Kokkos::deep_copy(dkv_h_, 0.0f);
    softmax_backward_rowsum(ref(out_h_), ref(dout_h_), ref(rowsum_h_));
    backward_accumulate(head_layout_, seq_slices_, ref(q_h_), heads.k, heads.v, ref(dout_h_), ref(lse_h_),
                        ref(rowsum_h_), ref(dq_h_), head_grads.k, head_grads.v);
  });
  const auto local_grad = kv_refs(dkv.data(), local_tokens_, layout_.kv_heads, layout_.head_dim);
  from_heads({{dq.data(), layout_.q_heads, dq_h_.data(), head_layout_.q_heads, parts[0].first, false},
              {local_grad.k.data, layout_.kv_heads, head_grads.k.data, head_layout_.kv_heads, parts[1].first, true},
              {local_grad.v.data, layout_.kv_heads, head_grads.v.data, head_layout_.kv_heads, parts[2].first, true}});
}

}  // namespace flexcp::attn
