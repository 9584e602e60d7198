#include "sched/group_sizing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sched/hybrid_layout.hpp"
#include "sched/split_estimate.hpp"
#include "sched/static_layout.hpp"

namespace flexcp::sched {

GroupSizing::GroupSizing(const CostContext& cost, SchemeSet schemes) : cost_(cost), schemes_(schemes) {
  if (schemes_.hybrid)
    for (int p = 0; p <= cost_.cluster.ranks(); ++p) hybrid_block_.push_back(hybrid_inner(p, cost_.cluster, cost_.model));
}

int GroupSizing::hybrid_block(int p) const {
  return p >= 0 && p < static_cast<int>(hybrid_block_.size()) ? hybrid_block_[static_cast<std::size_t>(p)] : 0;
}

double GroupSizing::split_increment(std::int64_t length, int p) const {
  const bool ulysses = schemes_.all_to_all && ulysses_heads_problem(cost_.model, p).empty();
  return fastest_split_estimate(length, p, ulysses, hybrid_block(p), cost_);
}

double GroupSizing::estimate(std::int64_t length, int size, CommScheme scheme) const {
  return split_time_estimate(length, size, scheme, cost_, scheme == CommScheme::hybrid ? hybrid_block(size) : 0);
}

int GroupSizing::size_for(std::int64_t length, double target, int g_min, int g0, const std::optional<Remaining>& left,
                          int* fastest_out) const {
  if (g0 <= g_min) return g0;
  int best = g0, fastest = g0;
  double best_rank_s = std::numeric_limits<double>::infinity(), fastest_s = std::numeric_limits<double>::infinity();
  auto consider = [&](int size, CommScheme scheme) {
    const double t = estimate(length, size, scheme);
    if (t < fastest_s) fastest_s = t, fastest = size;
    if (t <= target && size * t < best_rank_s) best_rank_s = size * t, best = size;
  };
  for (int size = g_min; size < g0; size = std::max(size + 1, size + size / 8)) consider(size, CommScheme::needed_kv);
  consider(g0, CommScheme::needed_kv);
  // Hybrid groups of whole nodes up to g0 (whole nodes give the largest blocks), in steps of
  // about 1/8 as above.
  const int per_node = cost_.cluster.ranks_per_node;
  for (int nodes = std::max(2, (g_min + per_node - 1) / per_node); nodes * per_node <= g0; nodes += std::max(1, nodes / 8))
    if (hybrid_block(nodes * per_node) > 0) consider(nodes * per_node, CommScheme::hybrid);
  if (schemes_.all_to_all)
    for (int size = g_min; size <= cost_.model.q_heads && size <= cost_.cluster.ranks(); ++size) {
      if (!ulysses_heads_problem(cost_.model, size).empty()) continue;
      if (size > g0) break;
      consider(size, CommScheme::all_to_all);
    }
  if (std::isfinite(best_rank_s)) return best;
  *fastest_out = fastest;
  return left ? beyond_balanced_size(length, g0, fastest, fastest_s, *left) : fastest;
}

// A document no group of up to g0 ranks finishes within the balanced share (debian-copyright,
// 64 GPUs, 2K tokens each: a 22K-token document on 13 ranks, needed-KV across two nodes, took
// 0.42 s where the rest finished by 0.31 s; weighed so, that batch takes 0.32 s). A larger group
// finishes it sooner but leaves fewer ranks for the rest, so each size above g0 is judged by the
// later of the two: its own estimate, and the work not yet split balanced over the ranks left
// outside groups. Candidates: whole-node hybrid groups, Ulysses sizes and needed-KV sizes (steps
// of about 1/8) above g0; kept only when that beats `fastest` (at most g0 ranks, time
// `fastest_s`) judged the same way.
int GroupSizing::beyond_balanced_size(std::int64_t length, int g0, int fastest, double fastest_s, Remaining left) const {
  const int ranks = left.ranks;
  auto finish = [&](int size, double t) {
    if (size < ranks) return std::max(t, left.work / (ranks - size));
    return left.work > 0.0 ? std::numeric_limits<double>::infinity() : t;
  };
  int best = fastest;
  double best_finish = finish(fastest, fastest_s);
  auto consider = [&](int size, CommScheme scheme) {
    const double f = finish(size, estimate(length, size, scheme));
    if (f < best_finish) best_finish = f, best = size;
  };
  // Up to 4 g0 (at least one whole node more): a document that wants more than four times its
  // balanced share of ranks would leave the rest too few, and the search stays O(log) per document.
  const int per_node = cost_.cluster.ranks_per_node;
  const int largest = std::min(ranks, std::max(4 * g0, (g0 / per_node + 2) * per_node));
  for (int size = g0 + 1; size <= largest; size = std::max(size + 1, size + size / 8)) consider(size, CommScheme::needed_kv);
  for (int nodes = std::max(2, g0 / per_node + 1); nodes * per_node <= largest; nodes += std::max(1, nodes / 8))
    if (hybrid_block(nodes * per_node) > 0) consider(nodes * per_node, CommScheme::hybrid);
  if (schemes_.all_to_all)
    for (int size = g0 + 1; size <= cost_.model.q_heads && size <= largest; ++size)
      if (ulysses_heads_problem(cost_.model, size).empty()) consider(size, CommScheme::all_to_all);
  return best;
}

}  // namespace flexcp::sched
