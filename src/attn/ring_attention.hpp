#pragma once
// Megatron-LM / TransformerEngine context-parallel ring attention over a CP group of any size P.
//
// Every document is split zigzag over the group (sched::zigzag_shards). Forward: P steps; at
// step s a rank holds the KV shard of the member s places behind it, posts the send of that
// shard to the next member and the receive of the following one, computes its queries against
// the shard it holds (only the slices the masks allow) and merges the partial output with
// log-sum-exp. Backward: the KV goes round once more; the dK/dV partials of each shard trail it
// by one step, every member adding its contribution, and arrive back at the owner after the
// last step. Communication of step s+1 overlaps the compute of step s.
#include <vector>

#include "attn/group_attention.hpp"
#include "attn/slice.hpp"
#include "comm/transport.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn {

class RingAttention final : public GroupAttention {
 public:
  // `members`: transport ranks of the group in ring order; `shards[i]` is what members[i] holds.
  // The calling rank must be a member.
  RingAttention(comm::Transport& transport, std::vector<int> members, std::vector<sched::RankShard> shards,
                const HeadLayout& layout);

  std::int64_t local_tokens() const { return shards_[position_].tokens(); }
  const sched::RankShard& local_shard() const { return shards_[position_]; }
  // Visible (query, key) pairs this rank computes: its share of the mask area.
  double local_mask_area() const override;

  // q: [tokens][H_q][d]; kv: this rank's KV message (kv_floats(local_tokens())).
  // Writes out [tokens][H_q][d] and lse [tokens][H_q].
  void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) override;
  // Writes dq and dkv (this rank's dK/dV message, same layout as kv).
  void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse, const Tensor3& dout,
                const Tensor3& dq, const Flat& dkv) override;

 private:
  int member_at(int steps_behind) const;  // position of the member `steps_behind` behind this rank
  comm::Transport& transport_;
  std::vector<int> members_;
  std::vector<sched::RankShard> shards_;
  HeadLayout layout_;
  std::size_t position_ = 0;
  std::vector<SliceSet> slices_;  // slices_[s]: local queries vs the shard held at step s
  Flat kv_buffers_[2];
  Flat dkv_buffers_[3];
  Tensor3 out_partial_;
  Tensor2 lse_partial_, rowsum_;
};

}  // namespace flexcp::attn
