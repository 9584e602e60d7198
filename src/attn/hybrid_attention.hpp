#pragma once
// flexcp's hybrid scheme (sched::CommScheme::hybrid) for a group spanning nodes: its members
// form blocks of `inner` consecutive ranks, one node's each. Inside a block, Ulysses turns
// "my tokens, all heads" into "the block's tokens, my heads" by all-to-all over the node's fast
// links; across blocks, the members holding the same heads (position k of every block) run
// needed-KV between their blocks' sequences, so only the KV of one head shard crosses nodes, and
// only the rows some query needs. O, and backward dQ/dK/dV, return by all-to-all. Written as
// the Ulysses executor with the needed-KV executor as its attention over heads: no new exchange.
#include <memory>

#include "attn/group_attention.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "attn/ulysses_attention.hpp"
#include "comm/group_collectives.hpp"
#include "comm/transport.hpp"
#include "sched/rank_program.hpp"

namespace flexcp::attn {

class HybridAttention final : public GroupAttention {
 public:
  // `block`: the collectives of this member's block (program.inner members); `transport`: the
  // world's point-to-point transport.
  HybridAttention(comm::Transport& transport, comm::GroupCollectives& block, Kernels& kernels,
                  const sched::GroupProgram& program, const HeadLayout& layout);

  double local_mask_area() const override { return ulysses_->local_mask_area(); }
  void forward(const View& q, const View& kv, const View& out, const View& lse) override {
    ulysses_->forward(q, kv, out, lse);
  }
  void backward(const View& q, const View& kv, const View& out, const View& lse, const View& dout, const View& dq,
                const View& dkv) override {
    ulysses_->backward(q, kv, out, lse, dout, dq, dkv);
  }

 private:
  // The needed-KV executor keeps a reference to its program: it lives here, before it.
  sched::GroupProgram across_;
  std::unique_ptr<UlyssesAttention> ulysses_;
};

// The ranks of `program`'s block (its all-to-all communicator's rank set).
std::vector<int> hybrid_block(const sched::GroupProgram& program);

}  // namespace flexcp::attn
