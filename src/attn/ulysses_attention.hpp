#pragma once
// DeepSpeed-Ulysses head-parallel attention over a group of P members. The group's split tokens
// are transposed by all-to-all from "my tokens, all heads" to "all tokens, my heads": member j
// gets query heads [j a, (j+1) a), a = H_q / P, and the KV heads they use (H_kv / P of them, or
// one replicated head when P > H_kv). Attention runs locally over the whole group sequence; O
// goes back by all-to-all. Backward sends dO the same way and returns dQ, dK, dV; replicated KV
// heads have their dK/dV summed at the token's owner. Whole documents of a member (flexsp) are
// computed locally with all heads and exchange nothing. The log-sum-exp of split tokens stays in
// head layout (backward uses it there): lse rows of split tokens are left NaN.
//
// Each transpose is a set of block copies prepared once per executor (strided: one run per
// (tensor, member)), run by the Kernels, around one all-to-all of the group.
//
// The attention over the group sequence in head layout is local by default; the hybrid scheme
// (hybrid_attention.hpp) passes a needed-KV executor over the sequences of other blocks instead.
#include <memory>
#include <string>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/group_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/head_sequence.hpp"
#include "attn/kernels.hpp"
#include "comm/group_collectives.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

// Why a group of `members` cannot run head-parallel with these heads, or "".
std::string ulysses_layout_problem(int members, const HeadLayout& layout);

class UlyssesAttention final : public GroupAttention {
 public:
  // Each member's buffer is its whole-document prefix, then its split tokens (GroupProgram).
  // `heads_attention`: attention over this member's head layout (head_shard_layout) of the group
  // sequence (head_sequence over every member), in place of the local one; may be null.
  UlyssesAttention(comm::GroupCollectives& group, Kernels& kernels, const sched::GroupProgram& program,
                   const HeadLayout& layout, std::unique_ptr<GroupAttention> heads_attention = nullptr);

  double local_mask_area() const override;
  void forward(const View& q, const View& kv, const View& out, const View& lse) override;
  void backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout, const View& dq,
                const View& dkv) override;

 private:
  // One tensor taking part in a transpose: its token layout has `token_heads` heads per token;
  // its head layout `width` heads of the whole group sequence; member j owns heads
  // [first[j], first[j] + width).
  struct Part {
    int token_heads = 0, width = 0;
    std::vector<int> first;
    bool accumulate = false;  // into the token layout (replicated KV heads are summed)
  };
  // A transpose prepared for fixed parts: pack each part into the send buffer, all-to-all,
  // unpack each part from the receive buffer (one copy list per member when accumulating, so no
  // two runs of one call write the same rows).
  struct Transpose {
    std::vector<Part> parts;
    std::vector<std::shared_ptr<const PreparedCopies>> pack;
    std::vector<std::vector<std::shared_ptr<const PreparedCopies>>> unpack;
    std::vector<std::int64_t> send_counts, recv_counts;
  };
  Transpose to_heads(std::vector<Part> parts);
  Transpose from_heads(std::vector<Part> parts);
  // Runs `t`: parts read from `sources` (one view per part), written into `targets`.
  void run(const Transpose& t, const std::vector<View>& sources, const std::vector<View>& targets);
  int kv_first(int member) const;  // first KV head member `member` uses
  // Where each member's part of a transpose buffer starts, `row` elements per token; where a
  // run sits in that part, for a tensor part of `width` elements per token after `part_offset`.
  std::vector<std::int64_t> member_offsets(std::int64_t row) const;
  std::int64_t run_offset(const SequenceRun& run, std::int64_t part_offset, std::int64_t width) const;
  View operand(const View& values, int slot);

  comm::GroupCollectives& group_;
  Kernels& kernels_;
  HeadLayout layout_, head_layout_;  // all heads; this member's heads
  int p_ = 1, me_ = 0;
  std::vector<std::int64_t> whole_, split_;  // per member
  std::vector<SequenceRun> runs_;            // where members' split tokens sit in the sequence
  std::int64_t local_tokens_ = 0, seq_tokens_ = 0;
  std::shared_ptr<const PreparedSlices> whole_slices_, seq_slices_;
  std::unique_ptr<GroupAttention> heads_attention_;
  Transpose qkv_to_heads_, out_from_heads_, dout_to_heads_, grads_from_heads_;
  Buffer q_h_, out_h_, dout_h_, dq_h_, lse_h_, rowsum_h_, rowsum_, kv_h_, dkv_h_;
  Buffer send_, recv_;
  Buffer scratch_[4];  // operand conversions: q, k, v, dout
};

}  // namespace flexcp::attn
