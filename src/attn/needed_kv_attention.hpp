#pragma once
// Sharding-aware CP attention (flexcp's scheme, after FlashCP and MagiAttention): each member
// receives from each peer only the KV rows its queries attend to (sched::needed_kv), and in
// backward returns the partial dK/dV of exactly those rows to their owner. A member holding only
// whole documents exchanges nothing.
//
// Stage s (1 <= s < P) pairs each member with the peers s places ahead (it serves them) and
// behind (they serve it). Stage s+1's messages are posted before stage s is computed, so
// communication overlaps compute; stage 0 is the member's own KV. Backward: KV travels again
// (not kept from forward: memory), and the dK/dV partials of stage s are reduced at their owner
// while stage s+1 computes.
#include <optional>
#include <vector>

#include "attn/group_attention.hpp"
#include "attn/slice.hpp"
#include "comm/transport.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

class NeededKvAttention final : public GroupAttention {
 public:
  NeededKvAttention(comm::Transport& transport, const sched::GroupProgram& program, const HeadLayout& layout);

  double local_mask_area() const override;
  void forward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse) override;
  void backward(const Tensor3& q, const Flat& kv, const Tensor3& out, const Tensor2& lse, const Tensor3& dout,
                const Tensor3& dq, const Flat& dkv) override;

 private:
  struct Exchange {
    std::optional<comm::Transport::Ticket> recv, send;
  };
  int from(int stage) const;  // member serving this rank at `stage`
  int to(int stage) const;    // member this rank serves at `stage`
  Exchange post_kv(int stage, const Flat& kv);
  void finish(std::optional<comm::Transport::Ticket>& ticket);

  comm::Transport& transport_;
  const sched::GroupProgram& program_;
  HeadLayout layout_;
  std::int64_t tokens_ = 0;
  SliceSet own_slices_;
  std::vector<SliceSet> slices_from_;  // by member position
  Flat recv_[2], send_[2], dkv_out_[2], dkv_in_[2];
  Tensor3 out_partial_;
  Tensor2 lse_partial_, rowsum_;
};

}  // namespace flexcp::attn
