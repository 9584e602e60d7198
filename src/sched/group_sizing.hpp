#pragma once
// flexcp's group size for a document it splits (the flexible planner's sizing rule). The
// perfectly balanced size g0 = ceil(work / T), T the balanced share, assumes splitting costs
// nothing, but short zigzag chunks run far below a long slice's rate and the exchange adds
// more; each candidate size is weighed by split_estimate.hpp's O(1) estimate under every scheme
// the planner may choose (needed-KV, whole-node hybrid, Ulysses all-to-all).
#include <cstdint>
#include <optional>
#include <vector>

#include "sched/cost_model.hpp"
#include "sched/scheme_choice.hpp"

namespace flexcp::sched {

class GroupSizing {
 public:
  GroupSizing(const CostContext& cost, SchemeSet schemes);

  // What is left of the micro-batch besides a document being sized: the single-rank work of the
  // documents not yet split, and the ranks not yet in a group.
  struct Remaining {
    double work = 0.0;
    int ranks = 0;
  };

  // The size for a document of `length` tokens, between `g_min` (memory) and the balanced `g0`:
  // among needed-KV sizes (steps of about 1/8), hybrid groups of whole nodes and the Ulysses
  // sizes up to g0 (larger ones balanced the rest worse: 16-rank batches 7-12% slower), the
  // fewest rank-seconds that still finish within the balanced share `target`. When none does,
  // the document is the micro-batch's critical path at every size up to g0: with `left` (what
  // the rest of the micro-batch has) a larger size may be returned (beyond_balanced_size), and
  // `*fastest_out` is then the fastest size up to g0; without it, that fastest size.
  int size_for(std::int64_t length, double target, int g_min, int g0, const std::optional<Remaining>& left,
               int* fastest_out) const;

  // What an average member of a group of `p` ranks spends on the document: the fastest scheme's
  // estimate (the planner's load increment for a split member).
  double split_increment(std::int64_t length, int p) const;
  // The hybrid's block size for a group of `p` ranks, 0 where it does not fit (or is not allowed).
  int hybrid_block(int p) const;

 private:
  double estimate(std::int64_t length, int size, CommScheme scheme) const;
  int beyond_balanced_size(std::int64_t length, int g0, int fastest, double fastest_s, Remaining left) const;

  CostContext cost_;
  SchemeSet schemes_;
  std::vector<int> hybrid_block_;  // by group size, once: the sizing asks for it per candidate
};

}  // namespace flexcp::sched
