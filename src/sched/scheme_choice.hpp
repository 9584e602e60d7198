#pragma once
// flexcp's per-group communication scheme, chosen from the cost model among the schemes
// `flexcp run` executes exactly (docs/planner.md, "Per-group scheme"):
//   needed_kv   point-to-point, only the KV each member's queries need (always possible)
//   all_gather  all-gather KV, reduce-scatter dK/dV (its executor splits every document, so only
//               for groups without whole documents)
//   all_to_all  Ulysses over heads (group sizes that divide H_q and divide or are divided by
//               H_kv, KV heads replicated when the group is larger)
//   hybrid      Ulysses inside each node's block, needed-KV across nodes per head shard (groups
//               spanning nodes in blocks of a Ulysses size, sched/hybrid_layout.hpp)
// Never chosen: the ring (it moves at least what needed-KV moves, pipelined the same way) and
// a2a+p2p (its KV ring moves at least what the hybrid's needed-KV moves), which has no executor.
// Collective schemes need a communicator of the group's rank set; one that does not exist yet
// costs a creation round, so they are taken only when that makes the micro-batch faster overall,
// and a group off the critical path keeps a scheme that needs nothing new (reuse).
#include <functional>
#include <vector>

#include "sched/communicator_accounting.hpp"
#include "sched/cost_model.hpp"

namespace flexcp::sched {

struct SchemeSet {
  bool all_gather = true, all_to_all = true, hybrid = true;
};

// The schemes `group` may use, needed_kv first; with hybrid, its block size in `hybrid_inner`.
std::vector<CommScheme> executable_schemes(const CpGroup& group, const Cluster& cluster, const ModelShape& model,
                                           const SchemeSet& allowed, int* hybrid_inner_out = nullptr);

// Sets the scheme of every group of >= 2 ranks in micro-batch `mb` of `plan`. `others_s`: the
// slowest rank outside those groups (a floor under the micro-batch's time); `exists` says whether
// a communicator of a rank set is already there (cached or created at start-up). `times_out`,
// when given: per group, group_time_s under the scheme chosen, as the choice evaluated it (so a
// caller need not evaluate the group again); NaN where nothing was compared (one executable
// scheme, or a group of one).
void choose_schemes(Plan& plan, std::size_t mb, const CostContext& context, const SchemeSet& allowed, double others_s,
                    const std::function<bool(const RankSet&)>& exists, std::vector<double>* times_out = nullptr);

}  // namespace flexcp::sched
