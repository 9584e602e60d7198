#include "sched/plan_bound.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "sched/group_traffic.hpp"
#include "sched/static_layout.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct OptionBound {
  double time = 0.0;          // the slowest member, at least
  double rank_seconds = 0.0;  // summed over members: busy + collective bytes on the wire
};

// One document alone in `group`.
OptionBound option_bound(const Plan& probe, const CpGroup& group, const CostContext& c) {
  const auto costs = group_member_costs(probe, group, c);
  const auto traffic = group_traffic(probe, group, c);
  const auto& m = c.model;
  const double passes = m.attention_forward_passes(), layers = m.layers;
  auto wire = [](double bytes, int messages, const LegTimes& t, bool latency) {
    return bytes <= 0.0 ? 0.0 : bytes / t.bandwidth + (latency ? messages * t.latency : 0.0);
  };
  OptionBound b;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    const auto& r = costs[i];
    const auto& pipe = traffic[i].pipelined;
    const auto& coll = traffic[i].collective;
    const auto pt = leg_times(pipe, c.hardware), ct = leg_times(coll, c.hardware);
    const double pipe_f = wire(pipe.forward_bytes, pipe.forward_messages, pt, true);
    const double pipe_b = wire(pipe.backward_bytes, pipe.backward_messages, pt, true);
    const double coll_f = wire(coll.forward_bytes, coll.forward_messages, ct, true);
    const double coll_b = wire(coll.backward_bytes, coll.backward_messages, ct, true);
    const double time = r.linear_s + layers * (passes * std::max(r.attention_forward_s / layers, pipe_f) +
                                               std::max(r.attention_backward_s / layers, pipe_b) + passes * coll_f + coll_b);
    b.time = std::max(b.time, time);
    // Latency is paid once per group whatever it holds: only bytes add up over documents.
    b.rank_seconds += r.busy_s() + layers * (passes * wire(coll.forward_bytes, 0, ct, false) +
                                             wire(coll.backward_bytes, 0, ct, false));
  }
  return b;
}

// Every scheme any strategy may give a group of `size` ranks (the hierarchical one at every
// inner size TransformerEngine allows, flexcp's hybrid at every Ulysses block size).
std::vector<CpGroup> groups_of(int size, std::int32_t doc, const ModelShape& m) {
  CpGroup g;
  g.ranks.resize(static_cast<std::size_t>(size));
  std::iota(g.ranks.begin(), g.ranks.end(), 0);
  g.docs = {{doc, Sharding::split, 0}};
  std::vector<CpGroup> out;
  for (auto scheme : {CommScheme::needed_kv, CommScheme::ring, CommScheme::all_gather}) {
    g.comm = scheme;
    out.push_back(g);
  }
  if (ulysses_heads_problem(m, size).empty()) {
    g.comm = CommScheme::all_to_all;
    out.push_back(g);
  }
  for (int inner = 2; inner < size; ++inner)
    if (size % inner == 0 && m.q_heads % inner == 0 && m.kv_heads % inner == 0) {
      g.comm = CommScheme::hierarchical;
      g.inner = inner;
      out.push_back(g);
    }
  for (int inner = 2; inner <= size / 2; ++inner)
    if (size % inner == 0 && ulysses_heads_problem(m, inner).empty()) {
      g.comm = CommScheme::hybrid;
      g.inner = inner;
      out.push_back(g);
    }
  return out;
}

bool fits(std::int64_t length, int size, std::int64_t capacity) {
  for (int i = 0; i < size; ++i)
    if (zigzag::tokens(length, size, i) > capacity) return false;
  return true;
}
}  // namespace

double lower_bound_with_communication_s(const Batch& batch, const CostContext& c, std::int64_t capacity) {
  const int ranks = c.cluster.ranks();
  const auto docs = batch.doc_lengths.size();
  Plan probe;
  probe.batch = batch;
  std::vector<double> work(docs);
  for (std::size_t d = 0; d < docs; ++d) work[d] = single_rank_work_s(batch.doc_lengths[d], c);
  const int exact = std::min(ranks, kBoundExactSizes);

  // Rank-seconds; documents that must be split take their cheapest group.
  double rank_seconds = 0.0, slowest = 0.0;
  for (std::size_t d = 0; d < docs; ++d) {
    const auto length = batch.doc_lengths[d];
    if (length <= capacity) {
      rank_seconds += work[d];
      continue;
    }
    double cheapest = ranks > exact ? work[d] : kInf, fastest = ranks > exact ? work[d] / ranks : kInf;
    for (int s = 2; s <= exact; ++s) {
      if (!fits(length, s, capacity)) continue;
      for (const auto& g : groups_of(s, static_cast<std::int32_t>(d), c.model)) {
        const auto b = option_bound(probe, g, c);
        cheapest = std::min(cheapest, b.rank_seconds);
        fastest = std::min(fastest, b.time);
      }
    }
    rank_seconds += cheapest;
    slowest = std::max(slowest, fastest);
  }
  double bound = std::max(rank_seconds / ranks, slowest);

  // The slowest document that fits one rank: only those whose whole time exceeds the bound so
  // far can raise it, longest first; a group size s cannot beat work / s.
  std::vector<std::size_t> order(docs);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return work[a] > work[b]; });
  for (auto d : order) {
    const auto length = batch.doc_lengths[d];
    if (length > capacity) continue;
    if (work[d] <= bound) break;
    // Below `first` ranks even perfectly split compute (work / s) is slower than the bound: those
    // sizes are bounded by work / (first - 1) and not evaluated.
    const int first = std::max(2, static_cast<int>(std::floor(work[d] / std::max(bound, 1e-300))));
    double fastest = first > 2 ? work[d] / (first - 1) : work[d];
    if (ranks > exact) fastest = std::min(fastest, work[d] / ranks);
    for (int s = first; s <= exact && fastest > bound; ++s)
      for (const auto& g : groups_of(s, static_cast<std::int32_t>(d), c.model)) {
        fastest = std::min(fastest, option_bound(probe, g, c).time);
        if (fastest <= bound) break;
      }
    bound = std::max(bound, fastest);
  }
  const double fewest_micro_batches =
      std::max(1.0, std::ceil(static_cast<double>(batch.total_tokens()) / (ranks * static_cast<double>(capacity))));
  return bound + fewest_micro_batches * c.hardware.microbatch_overhead_s;
}

}  // namespace flexcp::sched
