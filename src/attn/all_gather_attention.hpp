#pragma once
// Megatron-LM's all-gather CP variant (Llama 3): every member all-gathers the group's KV once,
// computes its queries against all of it, and reduce-scatters the dK/dV partials back to their
// owners. Forward overlaps the all-gather with the member's own-KV block; the gathered KV is
// kept for backward. Only the group's collectives move data (a cached group communicator).
#include <vector>

#include "attn/group_attention.hpp"
#include "attn/slice.hpp"
#include "comm/group_collectives.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn {

class AllGatherAttention final : public GroupAttention {
 public:
  // `shards[i]`: member i's buffer; `position`: this rank's member index.
  AllGatherAttention(comm::GroupCollectives& group, const std::vector<sched::RankShard>& shards, int position,
                     const HeadLayout& layout);

  double local_mask_area() const override;
  void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) override;
  void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse, const Tensor3& dout,
                const Tensor3& dq, const Flat& dkv) override;

 private:
  KvRefs block(const Flat& buffer, std::size_t member) const;

  comm::GroupCollectives& group_;
  HeadLayout layout_;
  std::size_t position_;
  std::vector<std::int64_t> tokens_, counts_, offsets_;  // per member: tokens, floats, float offset
  std::vector<SliceSet> slices_;                          // local queries vs member i's KV
  Flat gathered_, gathered_grad_;
  Tensor3 out_partial_;
  Tensor2 lse_partial_, rowsum_;
};

}  // namespace flexcp::attn
