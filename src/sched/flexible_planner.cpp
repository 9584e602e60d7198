// The flexible planner (flexcp, and flexsp with power-of-two groups). Per batch:
//  1. Micro-batches: the fewest that memory allows. Documents, longest first, go to the
//     micro-batch with the fewest tokens (LPT); a document longer than the whole machine holds
//     is an error naming it.
//  2. In each micro-batch, with W the batch's single-rank training time and T = W / P the
//     perfectly balanced share, a document is split when it does not fit one rank's memory or
//     its time exceeds T. It then gets g = max(ranks memory needs, ceil(time / T)) ranks
//     (rounded up to a power of two for flexsp) as one node-aware block, a recent rank set
//     first. If no block of g down to the memory minimum is free, it joins the least-loaded
//     existing group large enough to hold it.
//  3. Whole documents, longest first, go to the least-loaded rank with memory to spare (LPT),
//     joining that rank's group (or a group of one).
// If a micro-batch cannot be placed, the planner retries with one more micro-batch.
// Cost: O(D log D + D log P + S N) for D documents, P ranks, N nodes and S split documents,
// each placement scanning the nodes once (docs/planner.md).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

#include "sched/free_ranks.hpp"
#include "sched/planner.hpp"
#include "sched/rank_set_history.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

int next_power_of_two(int x) {
  int p = 1;
  while (p < x) p *= 2;
  return p;
}
int previous_power_of_two(int x) {
  int p = 1;
  while (p * 2 <= x) p *= 2;
  return p;
}

// An upper bound on the tokens any member holds when `length` is split zigzag over `group`
// ranks: two chunks of at most ceil(L / 2P) tokens each. O(1), and at most one token above the
// exact maximum.
std::int64_t max_share(std::int64_t length, int group) {
  const std::int64_t chunks = 2 * static_cast<std::int64_t>(group);
  return 2 * ((length + chunks - 1) / chunks);
}

class FlexiblePlanner final : public Planner {
 public:
  FlexiblePlanner(const PlannerContext& context, bool power_of_two, CommScheme comm, std::string name)
      : context_(context), power_of_two_(power_of_two), comm_(comm), name_(std::move(name)) {}

  std::string name() const override { return name_; }

  Plan plan(const Batch& batch) override {
    const auto& cluster = context_.cost.cluster;
    const std::int64_t cap = context_.capacity_tokens;
    const std::int64_t machine = cap * cluster.ranks();
    for (std::size_t d = 0; d < batch.doc_lengths.size(); ++d)
      if (batch.doc_lengths[d] > machine || min_group(batch.doc_lengths[d]) > cluster.ranks())
        throw ConfigError("document " + std::to_string(d) + " of " + std::to_string(batch.doc_lengths[d]) +
                          " tokens cannot fit in any group of the machine: " + std::to_string(cluster.ranks()) +
                          " ranks hold at most " + std::to_string(cap) + " tokens each");
    std::vector<double> work(batch.doc_lengths.size());
    for (std::size_t d = 0; d < work.size(); ++d) work[d] = single_rank_work_s(batch.doc_lengths[d], context_.cost);
    std::vector<std::int32_t> order(batch.doc_lengths.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int32_t a, std::int32_t b) { return batch.doc_lengths[a] > batch.doc_lengths[b]; });

    const auto tokens = batch.total_tokens();
    for (std::int64_t m = std::max<std::int64_t>(1, (tokens + machine - 1) / machine);
         m <= static_cast<std::int64_t>(batch.doc_lengths.size()); ++m) {
      auto plan = try_plan(batch, order, work, static_cast<int>(m));
      if (plan) {
        record(*plan);
        return *plan;
      }
    }
    throw ConfigError("planning failed: the batch cannot be placed even with one document per micro-batch");
  }

 private:
  int min_group(std::int64_t length) const {
    int g = static_cast<int>(std::max<std::int64_t>(1, (length + context_.capacity_tokens - 1) / context_.capacity_tokens));
    while (g <= context_.cost.cluster.ranks() && max_share(length, g) > context_.capacity_tokens) ++g;
    return power_of_two_ ? next_power_of_two(g) : g;
  }

  std::optional<Plan> try_plan(const Batch& batch, const std::vector<std::int32_t>& order,
                               const std::vector<double>& work, int micro_batches) {
    const std::int64_t machine = context_.capacity_tokens * context_.cost.cluster.ranks();
    std::vector<std::vector<std::int32_t>> bins(static_cast<std::size_t>(micro_batches));
    std::vector<std::int64_t> bin_tokens(bins.size(), 0);
    for (auto d : order) {
      const auto emptiest = static_cast<std::size_t>(std::min_element(bin_tokens.begin(), bin_tokens.end()) - bin_tokens.begin());
      if (bin_tokens[emptiest] + batch.doc_lengths[static_cast<std::size_t>(d)] > machine) return std::nullopt;
      bins[emptiest].push_back(d);
      bin_tokens[emptiest] += batch.doc_lengths[static_cast<std::size_t>(d)];
    }
    Plan plan;
    plan.strategy = name_;
    plan.batch = batch;
    for (const auto& docs : bins) {
      auto mb = place(batch, docs, work);
      if (!mb) return std::nullopt;
      plan.micro_batches.push_back(std::move(*mb));
    }
    return plan;
  }

  std::optional<MicroBatch> place(const Batch& batch, const std::vector<std::int32_t>& docs, const std::vector<double>& work) {
    const auto& cluster = context_.cost.cluster;
    const int ranks = cluster.ranks();
    const std::int64_t cap = context_.capacity_tokens;
    double total = 0.0;
    for (auto d : docs) total += work[static_cast<std::size_t>(d)];
    const double target = total / ranks;

    std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
    std::vector<std::int64_t> held(static_cast<std::size_t>(ranks), 0);
    std::vector<int> group_of(static_cast<std::size_t>(ranks), -1);
    MicroBatch mb;
    FreeRanks free_ranks(cluster);
    std::vector<std::int32_t> whole_docs;

    auto add_split = [&](int group_index, std::int32_t doc) {
      auto& group = mb.groups[static_cast<std::size_t>(group_index)];
      const int p = static_cast<int>(group.ranks.size());
      const auto length = batch.doc_lengths[static_cast<std::size_t>(doc)];
      group.docs.push_back({doc, Sharding::split, 0});
      for (int i = 0; i < p; ++i) {
        const auto r = static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(i)]);
        load[r] += work[static_cast<std::size_t>(doc)] / p;
        held[r] += zigzag::tokens(length, p, i);
      }
    };

    for (auto d : docs) {
      const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
      const double w = work[static_cast<std::size_t>(d)];
      if (length <= cap && w <= target) {
        whole_docs.push_back(d);
        continue;
      }
      const int g_min = min_group(length);
      int g = std::max(g_min, static_cast<int>(std::ceil(w / target - 1e-9)));
      g = std::min(g, ranks);
      if (power_of_two_) g = std::min(next_power_of_two(g), previous_power_of_two(ranks));
      if (g < g_min) return std::nullopt;
      std::optional<std::vector<int>> block;
      for (int size = g; size >= g_min && !block; size = power_of_two_ ? size / 2 : size - 1)
        if (size >= 2) block = free_ranks.take(size, history_);
      if (block) {
        mb.groups.push_back({std::vector<std::int32_t>(block->begin(), block->end()), {}, comm_});
        const int index = static_cast<int>(mb.groups.size()) - 1;
        for (int r : *block) group_of[static_cast<std::size_t>(r)] = index;
        add_split(index, d);
        continue;
      }
      // No free block: share the least-loaded existing group that can hold it.
      int best = -1;
      double best_load = 0.0;
      for (int gi = 0; gi < static_cast<int>(mb.groups.size()); ++gi) {
        const auto& group = mb.groups[static_cast<std::size_t>(gi)];
        const int p = static_cast<int>(group.ranks.size());
        if (p < g_min) continue;
        bool fits = true;
        double worst = 0.0;
        for (int i = 0; i < p && fits; ++i) {
          const auto r = static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(i)]);
          fits = held[r] + zigzag::tokens(length, p, i) <= cap;
          worst = std::max(worst, load[r]);
        }
        if (fits && (best < 0 || worst < best_load)) {
          best = gi;
          best_load = worst;
        }
      }
      if (best < 0) return std::nullopt;
      add_split(best, d);
    }

    // Whole documents: LPT onto the least-loaded rank with room.
    using Entry = std::pair<double, int>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> lightest;
    for (int r = 0; r < ranks; ++r) lightest.push({load[static_cast<std::size_t>(r)], r});
    std::vector<Entry> skipped;
    for (auto d : whole_docs) {
      const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
      while (!lightest.empty() && held[static_cast<std::size_t>(lightest.top().second)] + length > cap) {
        skipped.push_back(lightest.top());
        lightest.pop();
      }
      if (lightest.empty()) return std::nullopt;
      const int r = lightest.top().second;
      lightest.pop();
      for (const auto& e : skipped) lightest.push(e);
      skipped.clear();
      load[static_cast<std::size_t>(r)] += work[static_cast<std::size_t>(d)];
      held[static_cast<std::size_t>(r)] += length;
      lightest.push({load[static_cast<std::size_t>(r)], r});
      int& gi = group_of[static_cast<std::size_t>(r)];
      if (gi < 0) {
        mb.groups.push_back({{r}, {}, comm_});
        gi = static_cast<int>(mb.groups.size()) - 1;
      }
      auto& group = mb.groups[static_cast<std::size_t>(gi)];
      const auto owner = std::find(group.ranks.begin(), group.ranks.end(), r) - group.ranks.begin();
      group.docs.push_back({d, Sharding::whole, static_cast<std::int32_t>(owner)});
    }
    return mb;
  }

  void record(Plan& plan) {
    std::vector<std::vector<int>> sets;
    for (const auto& mb : plan.micro_batches)
      for (const auto& group : mb.groups)
        if (group.ranks.size() >= 2) {
          std::vector<int> set(group.ranks.begin(), group.ranks.end());
          if (std::find(sets.begin(), sets.end(), set) == sets.end()) sets.push_back(set);
        }
    plan.rank_sets_used = static_cast<int>(sets.size());
    for (const auto& set : sets) {
      if (!history_.contains(set)) plan.new_rank_sets += 1;
      history_.record(set);
    }
  }

  PlannerContext context_;
  bool power_of_two_;
  CommScheme comm_;
  std::string name_;
  RankSetHistory history_;
};
}  // namespace

std::unique_ptr<Planner> make_flexcp_planner(const PlannerContext& context) {
  return std::make_unique<FlexiblePlanner>(context, false, CommScheme::needed_kv, "flexcp");
}

std::unique_ptr<Planner> make_flexsp_planner(const PlannerContext& context) {
  return std::make_unique<FlexiblePlanner>(context, true, CommScheme::all_to_all, "flexsp");
}

}  // namespace flexcp::sched
