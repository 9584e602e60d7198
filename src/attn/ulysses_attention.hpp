#pragma once
// DeepSpeed-Ulysses head-parallel attention over a group of P members. The group's split tokens
// are transposed by all-to-all from "my tokens, all heads" to "all tokens, my heads": member j
// gets query heads [j a, (j+1) a), a = H_q / P, and the KV heads they use (H_kv / P of them, or
// one replicated head when P > H_kv). Attention runs locally over the whole group sequence; O
// goes back by all-to-all. Backward sends dO the same way and returns dQ, dK, dV; replicated KV
// heads have their dK/dV summed at the token's owner. Whole documents of a member (flexsp) are
// computed locally with all heads and exchange nothing. The log-sum-exp of split tokens stays in
// head layout (backward uses it there): lse rows of split tokens are left NaN.
#include <string>
#include <vector>

#include "attn/group_attention.hpp"
#include "attn/slice.hpp"
#include "comm/group_collectives.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

// Why a group of `members` cannot run head-parallel with these heads, or "".
std::string ulysses_layout_problem(int members, const HeadLayout& layout);

class UlyssesAttention final : public GroupAttention {
 public:
  // Each member's buffer is its whole-document prefix, then its split tokens (GroupProgram).
  UlyssesAttention(comm::GroupCollectives& group, const sched::GroupProgram& program, const HeadLayout& layout);

  double local_mask_area() const override;
  void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) override;
  void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse, const Tensor3& dout,
                const Tensor3& dq, const Flat& dkv) override;

 private:
  // One tensor taking part in a transpose: its token-layout buffer (all heads) and head-layout
  // buffer (`width` heads of the whole group sequence); member j owns heads [first[j], +width).
  struct Part {
    float* token_data;
    int token_heads;
    float* head_data;
    int width;
    std::vector<int> first;
    bool accumulate = false;  // from_heads: add into the token layout (replicated KV heads)
  };
  int kv_first(int member) const;  // first KV head member `member` uses
  static std::int64_t floats_per_token(const std::vector<Part>& parts, std::int64_t head_dim);  // every part's heads
  void to_heads(const std::vector<Part>& parts);
  void from_heads(const std::vector<Part>& parts);
  std::vector<Part> qkv_parts(const Tensor3& q, const Flat& kv) const;

  comm::GroupCollectives& group_;
  HeadLayout layout_, head_layout_;  // all heads; this member's heads
  int p_ = 1, me_ = 0;
  std::vector<std::int64_t> whole_, split_, seq_offset_;  // per member
  std::int64_t local_tokens_ = 0, seq_tokens_ = 0;
  SliceSet whole_slices_, seq_slices_;
  Tensor3 q_h_, out_h_, dout_h_, dq_h_;
  Tensor2 lse_h_, rowsum_h_, rowsum_;
  Flat kv_h_, dkv_h_;
  std::vector<float> send_, recv_;
};

}  // namespace flexcp::attn
