// FlexSP (ASPLOS'25) as published, per batch:
//  1. Sequence blaster: the fewest micro-batches memory allows; documents, longest first, to the
//     micro-batch with the fewest tokens (the greedy planner's step 1).
//  2. Per micro-batch, FlexSP's MILP (its authors' solver.py, solve_flexSP_bucket_seqs): virtual
//     Ulysses groups of every power-of-two size that splits whole heads, a binary m_p per group
//     (used or not) and an integer A_kp per (length bucket k, group p); minimise M subject to
//       sum_p A_kp = |bucket k|,  sum_k A_kp share(k, s_p) <= capacity,  sum_k A_kp t(k, s_p) <= M,
//       m_p <= sum_k A_kp <= |docs| m_p,  sum_p s_p m_p <= P,
//     with t(k, s) a bucket document's time on s ranks under flexcp's cost model (its work / s
//     plus the all-to-all it leaves exposed) and share the busiest member's tokens of the
//     bucket's longest document. Differences from the paper, each making FlexSP no weaker: groups
//     of one rank are allowed (the authors' code skips them), ranks may stay idle (<= P), the
//     greedy plan is compared and the faster one (by the cost model) kept, and m_p >= m_{p+1}
//     within a size removes symmetric solutions.
//  3. Groups are placed as node-aware blocks, largest first: aligned power-of-two blocks where
//     the node size is a power of two (rank r belongs to one block per size, so every group's
//     communicator can be created once, at start-up). Each bucket's documents are dealt, longest
//     first, to its groups with the least work so far.
// Where the greedy already meets a lower bound of every FlexSP plan, the MILP is not run.
// CBC solves the MILP under a time limit (FlexSP's 10 s, one batch ahead) and a node limit (the
// deterministic limit `flexcp run` uses, so every rank plans alike); with no solution in time,
// or none better, the greedy plan stands.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "sched/flexsp_planner.hpp"
#include "sched/free_ranks.hpp"
#include "sched/length_buckets.hpp"
#include "sched/milp.hpp"
#include "sched/static_layout.hpp"

namespace flexcp::sched {
namespace {

std::int64_t busiest_share(std::int64_t length, int size) {
  const std::int64_t chunks = 2 * static_cast<std::int64_t>(size);
  return size == 1 ? length : 2 * ((length + chunks - 1) / chunks);
}

class FlexspMilpPlanner final : public Planner {
 public:
  FlexspMilpPlanner(const PlannerContext& context, const FlexspOptions& options)
      : context_(context), options_(options), greedy_(make_flexsp_greedy_planner(context)) {
    sizes_ = flexsp_group_sizes(context);
    for (int s : sizes_) exposed_per_token_.push_back(fit_exposed_comm(s));
  }

  std::string name() const override { return "flexsp"; }
  SolverReport last_solver_report() const override { return report_; }

  Plan plan(const Batch& batch) override {
    Plan plan = greedy_->plan(batch);  // also the sequence blaster: its micro-batches are FlexSP's
    plan.strategy = name();
    report_ = {};
    const auto greedy = evaluate_plan(plan, context_.cost);
    for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
      std::vector<std::int32_t> docs;
      for (const auto& g : plan.micro_batches[mb].groups)
        for (const auto& d : g.docs) docs.push_back(d.doc);
      // Where the greedy already meets a lower bound of every FlexSP plan, no MILP can do better.
      if (!options_.milp_only && greedy.micro_batch_s[mb] <= lower_bound_s(batch, docs) * (1.0 + 1e-9)) continue;
      report_.ran = true;
      auto solved = solve(batch, docs);
      if (!solved) continue;
      Plan alone{name(), batch, {*solved}, 0, 0};
      if (options_.milp_only || evaluate_plan(alone, context_.cost).step_time_s < greedy.micro_batch_s[mb]) {
        plan.micro_batches[mb] = std::move(*solved);
        report_.kept = true;
      }
    }
    return plan;
  }

 private:
  // No FlexSP plan of these documents is faster than the batch's work spread over every rank, nor
  // than its longest document alone on the fastest group that holds it.
  double lower_bound_s(const Batch& batch, const std::vector<std::int32_t>& docs) const {
    double total = 0.0;
    std::int64_t longest = 0;
    for (auto d : docs) {
      total += single_rank_work_s(batch.doc_lengths[static_cast<std::size_t>(d)], context_.cost);
      longest = std::max(longest, batch.doc_lengths[static_cast<std::size_t>(d)]);
    }
    double alone = std::numeric_limits<double>::infinity();
    for (std::size_t si = 0; si < sizes_.size(); ++si) {
      const int s = sizes_[si];
      if (busiest_share(longest, s) > context_.capacity_tokens) continue;
      CostContext group_only = context_.cost;
      group_only.cluster = cluster_of_size(s);
      CpGroup group{{}, {{0, s == 1 ? Sharding::whole : Sharding::split, 0}}, CommScheme::all_to_all};
      for (int i = 0; i < s; ++i) group.ranks.push_back(i);
      alone = std::min(alone, evaluate_plan(Plan{"bound", Batch{{longest}}, {MicroBatch{{group}}}, 0, 0}, group_only).step_time_s);
    }
    return std::max(total / context_.cost.cluster.ranks() + context_.cost.hardware.microbatch_overhead_s, alone);
  }

  // A machine of `size` ranks with this one's node size: where a group of that size is placed.
  Cluster cluster_of_size(int size) const {
    const int per_node = context_.cost.cluster.ranks_per_node;
    return {(size + per_node - 1) / per_node, std::min(size, per_node)};
  }

  // Exposed all-to-all seconds of one document on `size` ranks is alpha + beta L (bytes grow
  // with the tokens, latency per message is fixed): fitted from the cost model at two lengths.
  std::pair<double, double> fit_exposed_comm(int size) const {
    if (size == 1) return {0.0, 0.0};
    CostContext alone = context_.cost;
    alone.cluster = cluster_of_size(size);
    auto exposed = [&](std::int64_t length) {
      CpGroup group{{}, {{0, Sharding::split, 0}}, CommScheme::all_to_all};
      for (int i = 0; i < size; ++i) group.ranks.push_back(i);
      const auto cost = evaluate_plan(Plan{"fit", Batch{{length}}, {MicroBatch{{group}}}, 0, 0}, alone);
      double most = 0.0;
      for (const auto& r : cost.ranks) most = std::max(most, r.exposed_comm_s);
      return most;
    };
    const std::int64_t a = 1024 * static_cast<std::int64_t>(size), b = 2 * a;
    const double slope = (exposed(b) - exposed(a)) / static_cast<double>(b - a);
    return {exposed(a) - slope * static_cast<double>(a), slope};
  }

  std::optional<MicroBatch> solve(const Batch& batch, const std::vector<std::int32_t>& docs) {
    const auto& lengths = batch.doc_lengths;
    const int ranks = context_.cost.cluster.ranks();
    const auto buckets = bucket_lengths(lengths, docs, options_.buckets);
    // Per bucket: mean work (its time on one rank) and mean length, for t(k, s).
    std::vector<double> work(buckets.size(), 0.0), mean_length(buckets.size(), 0.0);
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      for (auto d : buckets[k].docs) {
        work[k] += single_rank_work_s(lengths[static_cast<std::size_t>(d)], context_.cost);
        mean_length[k] += static_cast<double>(lengths[static_cast<std::size_t>(d)]);
      }
      work[k] /= static_cast<double>(buckets[k].docs.size());
      mean_length[k] /= static_cast<double>(buckets[k].docs.size());
    }
    auto time = [&](std::size_t k, std::size_t size_index) {
      const auto [alpha, beta] = exposed_per_token_[size_index];
      return work[k] / sizes_[size_index] + alpha + beta * mean_length[k];
    };
    auto fits = [&](std::size_t k, int size) { return busiest_share(buckets[k].boundary, size) <= context_.capacity_tokens; };

    // Virtual groups: per size, as many as the ranks allow and the documents can fill.
    struct Virtual {
      std::size_t size_index;
      int m;                       // variable: used
      std::vector<int> a;          // variable per bucket (-1: not eligible)
    };
    Milp milp;
    const int makespan = milp.add_variable(0.0, 1e30, 1.0, false);
    std::vector<Virtual> groups;
    for (std::size_t si = 0; si < sizes_.size(); ++si) {
      const int s = sizes_[si];
      std::size_t eligible = 0;
      for (std::size_t k = 0; k < buckets.size(); ++k) eligible += fits(k, s) ? buckets[k].docs.size() : 0;
      const auto count = std::min<std::size_t>(static_cast<std::size_t>(ranks / s), eligible);
      for (std::size_t c = 0; c < count; ++c) {
        Virtual v{si, milp.add_variable(0.0, 1.0, 0.0, true), std::vector<int>(buckets.size(), -1)};
        for (std::size_t k = 0; k < buckets.size(); ++k)
          if (fits(k, s)) v.a[k] = milp.add_variable(0.0, static_cast<double>(buckets[k].docs.size()), 0.0, true);
        groups.push_back(std::move(v));
      }
    }
    report_.variables += milp.variables();
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      Milp::Terms placed;
      for (const auto& v : groups)
        if (v.a[k] >= 0) placed.push_back({v.a[k], 1.0});
      if (placed.empty()) return std::nullopt;  // no FlexSP group can hold this bucket
      milp.add_equal(placed, static_cast<double>(buckets[k].docs.size()));
    }
    Milp::Terms devices;
    for (std::size_t p = 0; p < groups.size(); ++p) {
      const auto& v = groups[p];
      const int s = sizes_[v.size_index];
      Milp::Terms memory, busy{{makespan, -1.0}}, count, at_least{{v.m, -1.0}};
      for (std::size_t k = 0; k < buckets.size(); ++k) {
        if (v.a[k] < 0) continue;
        memory.push_back({v.a[k], static_cast<double>(busiest_share(buckets[k].boundary, s))});
        busy.push_back({v.a[k], time(k, v.size_index)});
        count.push_back({v.a[k], 1.0});
        at_least.push_back({v.a[k], 1.0});
      }
      milp.add_less_equal(memory, static_cast<double>(context_.capacity_tokens));
      milp.add_less_equal(busy, 0.0);
      count.push_back({v.m, -static_cast<double>(docs.size())});
      milp.add_less_equal(count, 0.0);
      milp.add_greater_equal(at_least, 0.0);
      devices.push_back({v.m, static_cast<double>(s)});
      if (p > 0 && groups[p - 1].size_index == v.size_index) milp.add_greater_equal({{groups[p - 1].m, 1.0}, {v.m, -1.0}}, 0.0);
    }
    milp.add_less_equal(devices, static_cast<double>(ranks));
    // Valid inequality (no solution is cut off, the relaxation's bound becomes useful): the
    // groups' rank-seconds fit in P ranks x M, since each used group's time is at most M.
    Milp::Terms rank_seconds{{makespan, -static_cast<double>(ranks)}};
    for (const auto& v : groups)
      for (std::size_t k = 0; k < buckets.size(); ++k)
        if (v.a[k] >= 0) rank_seconds.push_back({v.a[k], sizes_[v.size_index] * time(k, v.size_index)});
    milp.add_less_equal(rank_seconds, 0.0);
    if (auto start = homogeneous_start(groups, buckets, milp.variables(), makespan, time, fits)) milp.set_start(*start);

    const auto result = milp.solve(options_.limits);
    report_.seconds += result.solve_s;
    report_.status = result.status;
    if (!result.has_solution()) return std::nullopt;
    return place(batch, buckets, groups, result.values);
  }

  // FlexSP's initial solutions (generate_balanced_initial_solution): groups of one size only, as
  // many as the ranks allow, buckets dealt longest first to the least busy group that has memory
  // left. CBC takes one start: the size with the smallest makespan.
  template <class Groups, class Time, class Fits>
  std::optional<std::vector<double>> homogeneous_start(const Groups& groups, const std::vector<LengthBucket>& buckets,
                                                       int variables, int makespan, const Time& time, const Fits& fits) const {
    std::optional<std::vector<double>> best;
    for (std::size_t si = 0; si < sizes_.size(); ++si) {
      bool all = true;
      for (std::size_t k = 0; k < buckets.size(); ++k) all = all && fits(k, sizes_[si]);
      std::vector<std::size_t> members;
      for (std::size_t p = 0; p < groups.size() && all; ++p)
        if (groups[p].size_index == si) members.push_back(p);
      if (members.empty()) continue;
      std::vector<double> values(static_cast<std::size_t>(variables), 0.0), busy(members.size(), 0.0);
      std::vector<std::int64_t> held(members.size(), 0);
      for (std::size_t k = 0; k < buckets.size() && all; ++k)
        for (std::size_t n = 0; n < buckets[k].docs.size() && all; ++n) {
          // Least busy first, ties to the lowest index: the used groups are a prefix of their
          // size, as the symmetry-breaking rows require.
          std::size_t pick = members.size();
          for (std::size_t i = 0; i < members.size(); ++i)
            if (held[i] + busiest_share(buckets[k].boundary, sizes_[si]) <= context_.capacity_tokens &&
                (pick == members.size() || busy[i] < busy[pick]))
              pick = i;
          if (pick == members.size()) {
            all = false;
            break;
          }
          busy[pick] += time(k, si);
          held[pick] += busiest_share(buckets[k].boundary, sizes_[si]);
          values[static_cast<std::size_t>(groups[members[pick]].a[k])] += 1.0;
          values[static_cast<std::size_t>(groups[members[pick]].m)] = 1.0;
        }
      if (!all) continue;
      values[static_cast<std::size_t>(makespan)] = *std::max_element(busy.begin(), busy.end());
      if (!best || values[static_cast<std::size_t>(makespan)] < (*best)[static_cast<std::size_t>(makespan)]) best = values;
    }
    return best;
  }

  // Node-aware blocks, largest groups first (best fit from the lowest ranks: aligned power-of-two
  // blocks wherever the node size is a power of two); nothing when the groups do not fit the
  // nodes. Each bucket's documents, longest first, go to the group (among those the MILP gave
  // this bucket) with the least work so far.
  template <class Groups>
  std::optional<MicroBatch> place(const Batch& batch, const std::vector<LengthBucket>& buckets, const Groups& groups,
                                  const std::vector<double>& values) const {
    std::vector<std::size_t> used;
    for (std::size_t p = 0; p < groups.size(); ++p)
      if (values[static_cast<std::size_t>(groups[p].m)] > 0.5) used.push_back(p);
    std::stable_sort(used.begin(), used.end(), [&](std::size_t a, std::size_t b) {
      return sizes_[groups[a].size_index] > sizes_[groups[b].size_index];
    });
    MicroBatch mb;
    std::vector<double> load(used.size(), 0.0);
    FreeRanks free_ranks(context_.cost.cluster);
    const RankSetHistory no_history;
    for (auto p : used) {
      auto block = free_ranks.take(sizes_[groups[p].size_index], no_history);
      if (!block) return std::nullopt;
      mb.groups.push_back({std::vector<std::int32_t>(block->begin(), block->end()), {}, CommScheme::all_to_all});
    }
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      std::vector<long> left(used.size(), 0);
      for (std::size_t u = 0; u < used.size(); ++u)
        if (groups[used[u]].a[k] >= 0) left[u] = std::lround(values[static_cast<std::size_t>(groups[used[u]].a[k])]);
      for (auto d : buckets[k].docs) {
        std::size_t best = used.size();
        for (std::size_t u = 0; u < used.size(); ++u)
          if (left[u] > 0 && (best == used.size() || load[u] < load[best])) best = u;
        const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
        const int s = static_cast<int>(mb.groups[best].ranks.size());
        mb.groups[best].docs.push_back({d, s == 1 ? Sharding::whole : Sharding::split, 0});
        load[best] += single_rank_work_s(length, context_.cost) / s;
        left[best] -= 1;
      }
    }
    return mb;
  }

  PlannerContext context_;
  FlexspOptions options_;
  std::unique_ptr<Planner> greedy_;
  std::vector<int> sizes_;
  std::vector<std::pair<double, double>> exposed_per_token_;
  SolverReport report_;
};
}  // namespace

std::vector<int> flexsp_group_sizes(const PlannerContext& context) {
  std::vector<int> sizes;
  for (int s = 1; s <= context.cost.cluster.ranks(); s *= 2)
    if (ulysses_heads_problem(context.cost.model, s).empty()) sizes.push_back(s);
  return sizes;
}

std::unique_ptr<Planner> make_flexsp_planner(const PlannerContext& context, const FlexspOptions& options) {
  return std::make_unique<FlexspMilpPlanner>(context, options);
}

std::unique_ptr<Planner> make_flexsp_planner(const PlannerContext& context) {
  return make_flexsp_planner(context, FlexspOptions{});
}

}  // namespace flexcp::sched
