#pragma once
// Communicators a plan needs, and what making them costs (docs/cost-model.md): every strategy
// is charged alike. Group collectives (all-gather, all-to-all, the all-to-all blocks of a2a+p2p)
// run on a communicator of exactly their rank set; point-to-point traffic (ring, needed-KV, the
// ring of a2a+p2p) is sent on the world communicator, as flexcp's executors do, and needs none.
// A rank set is free when its communicator was created at start-up (a static layout's groups,
// sched/standing_communicators.hpp) or is still in the LRU cache (comm::CommunicatorCache's
// policy); otherwise the micro-batch pays one creation round: one ncclCommSplit over the world,
// which makes every missing set of the micro-batch at once.
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "sched/plan.hpp"

namespace flexcp::sched {

using RankSet = std::vector<int>;

// The rank sets `group` needs communicators for (none for point-to-point schemes).
std::vector<RankSet> communicator_sets(const CpGroup& group);

struct CommunicatorCharge {
  int rounds = 0;   // creation rounds (micro-batches that created any communicator)
  int created = 0;  // communicators created
};

class CommunicatorAccounting {
 public:
  // `cache_capacity`: communicators created at run time and kept (run.comm_cache_size).
  CommunicatorAccounting(std::vector<RankSet> precreated, std::size_t cache_capacity);

  // Charges one step's plan and records its sets as used.
  CommunicatorCharge charge(const Plan& plan);
  // Charges one creation round for `sets` (all created by one split when missing), as
  // comm::CommunicatorCache::prepare() makes them: the multimodal boundary's group.
  CommunicatorCharge charge(std::vector<RankSet> sets);

  // Whether a communicator of `set` exists now (created at start-up or still cached).
  bool holds(const RankSet& set) const { return precreated_.count(set) > 0 || cached_.count(set) > 0; }

  // Communicators a rank may hold at once: the most pre-created sets any rank belongs to, plus
  // the cache when `creates_at_run_time` (each cached set may include the rank).
  std::size_t held_per_rank(bool creates_at_run_time) const;

 private:
  std::set<RankSet> precreated_;
  std::size_t cache_capacity_;
  std::uint64_t clock_ = 0;
  std::map<RankSet, std::uint64_t> cached_;  // rank set -> last use
  // The same entries by last use (clocks are unique), so evicting the least recently used is
  // O(log n): a plan of thousands of block communicators used to scan the cache per eviction.
  // Keys, not iterators, so that copies of the accounting stay valid.
  std::map<std::uint64_t, RankSet> by_use_;
  std::size_t most_precreated_per_rank_ = 0;
};

}  // namespace flexcp::sched
