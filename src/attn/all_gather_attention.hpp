#pragma once
// Megatron-LM's all-gather CP variant (Llama 3): every member all-gathers the group's KV once,
// computes its queries against all of it, and reduce-scatters the dK/dV partials back to their
// owners. Forward overlaps the all-gather with the member's own-KV block; the gathered KV is
// kept for backward. Only the group's collectives move data (a cached group communicator).
#include <memory>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/group_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "comm/group_collectives.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn {

class AllGatherAttention final : public GroupAttention {
 public:
  // `shards[i]`: member i's buffer; `position`: this rank's member index.
  AllGatherAttention(comm::GroupCollectives& group, Kernels& kernels, const std::vector<sched::RankShard>& shards,
                     int position, const HeadLayout& layout);

  double local_mask_area() const override;
  void forward(const View& q, const View& kv, const View& out, const View& lse) override;
  void backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout, const View& dq,
                const View& dkv) override;

 private:
  KvViews block(const Buffer& buffer, std::size_t member) const;
  View operand(const View& values, int slot);

  comm::GroupCollectives& group_;
  Kernels& kernels_;
  HeadLayout layout_;
  std::size_t position_;
  std::vector<std::int64_t> counts_, offsets_;                   // per member: elements, offset
  std::vector<std::shared_ptr<const PreparedSlices>> slices_;   // local queries vs member i's KV
  Buffer gathered_, gathered_grad_;
  Buffer out_partial_, lse_partial_, rowsum_;
  Buffer scratch_[4];  // operand conversions: q, k, v, dout
};

}  // namespace flexcp::attn
