#pragma once
// Sharding-aware CP attention (flexcp's scheme, after FlashCP and MagiAttention): each member
// receives from each peer only the KV rows its queries attend to (sched::needed_kv), and in
// backward returns the partial dK/dV of exactly those rows to their owner. A member holding only
// whole documents exchanges nothing.
//
// Step s (1 <= s < P) pairs each member with the peers s places ahead (it serves them) and
// behind (they serve it); step 0 is the member's own KV. Forward: the stage of step s+1 is
// posted before step s is computed, so communication overlaps compute. Backward: KV travels
// again (not kept from forward: memory); the stage posted at step s carries the KV of step s+1
// and the dK/dV partials of step s-1 back to their owners, who add them while later steps
// compute. Every member's k-th stage matches its peers' k-th (transport.hpp's lockstep rule).
#include <memory>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/group_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "comm/transport.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

class NeededKvAttention final : public GroupAttention {
 public:
  NeededKvAttention(comm::Transport& transport, Kernels& kernels, const sched::GroupProgram& program,
                    const HeadLayout& layout);

  double local_mask_area() const override;
  void forward(const View& q, const View& kv, const View& out, const View& lse) override;
  void backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout, const View& dq,
                const View& dkv) override;

 private:
  int from(int step) const;  // member serving this rank at `step`
  int to(int step) const;    // member this rank serves at `step`
  std::int64_t tokens_in(int step) const;   // KV tokens received at `step`
  std::int64_t tokens_out(int step) const;  // KV tokens served at `step`
  View received(int step) const;
  // Adds to `stage` the KV exchange of `step`: the receive from from(step), and the pieces for
  // to(step) packed from `kv` and sent.
  void add_kv(comm::Stage& stage, int step, const View& kv);
  // Adds to `stage` the return of `step`'s dK/dV partials: sent to from(step), received from to(step).
  void add_partials(comm::Stage& stage, int step);
  void reduce_returned(int step, const View& dkv);  // dkv += the partials returned for `step`
  View operand(const View& values, int slot);

  comm::Transport& transport_;
  Kernels& kernels_;
  const sched::GroupProgram& program_;
  HeadLayout layout_;
  std::int64_t tokens_ = 0;
  std::shared_ptr<const PreparedSlices> own_slices_;
  std::vector<std::shared_ptr<const PreparedSlices>> slices_from_;  // by member position
  std::vector<std::shared_ptr<const PreparedCopies>> pack_, unpack_;  // by member position: pieces served
  Buffer recv_[2], send_[2], dkv_out_[2], dkv_in_[2];
  Buffer out_partial_, lse_partial_, rowsum_;
  Buffer scratch_[4];  // operand conversions: q, k, v, dout
};

}  // namespace flexcp::attn
