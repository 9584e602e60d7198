#pragma once
// Megatron-LM / TransformerEngine context-parallel ring attention over a CP group of any size P.
//
// Every document is split zigzag over the group (sched::zigzag_shards). Forward: P steps; at
// step s a rank holds the KV shard of the member s places behind it; stage s sends that shard to
// the next member and receives the following one while the rank computes its queries against
// the shard it holds (only the slices the masks allow) and merges the partial output with
// log-sum-exp. Backward: the KV goes round once more; the dK/dV partial of each shard trails it
// by one step, every member adding its contribution, and arrives back at its owner after the
// last step. Stage s carries the KV of step s+1 and the dK/dV partial finished at step s-1, so
// every member's k-th stage matches its neighbours' k-th (transport.hpp's lockstep rule) and the
// communication of each stage overlaps the compute of its step.
#include <memory>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/group_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "comm/transport.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn {

class RingAttention final : public GroupAttention {
 public:
  // `members`: transport ranks of the group in ring order; `shards[i]` is what members[i] holds.
  // The calling rank must be a member; kernels and transport share a memory space.
  RingAttention(comm::Transport& transport, Kernels& kernels, std::vector<int> members,
                std::vector<sched::RankShard> shards, const HeadLayout& layout);

  std::int64_t local_tokens() const { return shards_[position_].tokens(); }
  const sched::RankShard& local_shard() const { return shards_[position_]; }
  double local_mask_area() const override;
  void forward(const View& q, const View& kv, const View& out, const View& lse) override;
  void backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout, const View& dq,
                const View& dkv) override;

 private:
  int member_at(int steps_behind) const;  // position of the member `steps_behind` behind this rank
  std::int64_t kv_count(int steps_behind) const;  // elements of the KV message of that member
  View operand(const View& values, int slot);

  comm::Transport& transport_;
  Kernels& kernels_;
  std::vector<int> members_;
  std::vector<sched::RankShard> shards_;
  HeadLayout layout_;
  std::size_t position_ = 0;
  std::vector<std::shared_ptr<const PreparedSlices>> slices_;  // [s]: local queries vs the shard held at step s
  Buffer kv_in_[2], dkv_acc_[2], dkv_in_;
  Buffer out_partial_, lse_partial_, rowsum_;
  Buffer scratch_[4];  // operand conversions: q, k, v, dout
};

}  // namespace flexcp::attn
