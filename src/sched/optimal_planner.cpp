#include "sched/optimal_planner.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "sched/communicator_accounting.hpp"
#include "sched/scheme_choice.hpp"
#include "sched/standing_communicators.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

// Node-aware blocks of >= 2 ranks: contiguous inside a node, or starting at a node boundary and
// longer than a node (whole nodes, then part of one).
std::vector<std::vector<std::int32_t>> candidate_blocks(const Cluster& cluster) {
  std::vector<std::vector<std::int32_t>> blocks;
  const int per = cluster.ranks_per_node, ranks = cluster.ranks();
  auto run = [&](int first, int size) {
    std::vector<std::int32_t> b(static_cast<std::size_t>(size));
    for (int i = 0; i < size; ++i) b[static_cast<std::size_t>(i)] = first + i;
    blocks.push_back(std::move(b));
  };
  for (int n = 0; n < cluster.nodes; ++n)
    for (int size = 2; size <= per; ++size)
      for (int first = n * per; first + size <= (n + 1) * per; ++first) run(first, size);
  for (int n = 0; n < cluster.nodes; ++n)
    for (int size = per + 1; n * per + size <= ranks; ++size) run(n * per, size);
  return blocks;
}

std::int64_t most_member_tokens(std::int64_t length, int members) {
  std::int64_t most = 0;
  for (int i = 0; i < members; ++i) most = std::max(most, zigzag::tokens(length, members, i));
  return most;
}

class OptimalPlanner final : public Planner {
 public:
  OptimalPlanner(const PlannerContext& context, const OptimalOptions& options)
      : context_(context),
        options_(options),
        communicators_(rank_sets_of(flexcp_standing_communicators(context.cost)), context.comm_cache_size),
        greedy_(make_flexcp_planner(context)) {}
  std::string name() const override { return "optimal"; }
  SolverReport last_solver_report() const override { return report_; }

  Plan plan(const Batch& batch) override {
    const auto& cost = context_.cost;
    const int ranks = cost.cluster.ranks();
    const auto docs = static_cast<int>(batch.doc_lengths.size());
    const std::int64_t cap = context_.capacity_tokens;
    if (ranks > options_.max_ranks || docs > options_.max_documents)
      throw ConfigError("the optimal planner solves instances of at most " + std::to_string(options_.max_ranks) + " ranks and " +
                        std::to_string(options_.max_documents) + " documents; this one has " + std::to_string(ranks) +
                        " ranks and " + std::to_string(docs) + " documents");
    if (batch.total_tokens() > cap * ranks)
      throw ConfigError("the optimal planner plans one micro-batch; this batch needs more memory than the machine has");

    Plan probe;
    probe.batch = batch;
    greedy_plan_.reset();
    Milp milp;
    const int makespan = milp.add_variable(0.0, 1e30, 1.0, false);
    // One creation round when any used collective group's communicator is not cached yet.
    const int creates = milp.add_variable(0.0, 1.0, cost.hardware.communicator_create_s, true);
    // Per rank: time and memory terms; per document: placement terms.
    std::vector<Milp::Terms> time(static_cast<std::size_t>(ranks)), memory(time.size()), placed(static_cast<std::size_t>(docs));
    std::vector<Milp::Terms> blocks_of(time.size());  // per rank: its candidate groups' use variables
    std::vector<std::vector<int>> whole(static_cast<std::size_t>(docs), std::vector<int>(static_cast<std::size_t>(ranks), -1));
    std::vector<Milp::Terms> whole_on(time.size());   // per rank: its whole-document variables
    for (int d = 0; d < docs; ++d) {
      const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
      if (length > cap) continue;
      const double t = single_rank_work_s(length, cost);
      for (int r = 0; r < ranks; ++r) {
        const int v = milp.add_variable(0.0, 1.0, 0.0, true);
        whole[static_cast<std::size_t>(d)][static_cast<std::size_t>(r)] = v;
        time[static_cast<std::size_t>(r)].push_back({v, t});
        memory[static_cast<std::size_t>(r)].push_back({v, static_cast<double>(length)});
        placed[static_cast<std::size_t>(d)].push_back({v, 1.0});
        whole_on[static_cast<std::size_t>(r)].push_back({v, 1.0});
      }
    }
    std::vector<Candidate> candidates;
    for (const auto& block : candidate_blocks(cost.cluster)) {
      CpGroup shape{block, {{0, Sharding::split, 0}}, CommScheme::needed_kv};
      int inner = 1;
      for (auto scheme : executable_schemes(shape, cost.cluster, cost.model, {}, &inner)) {
        const int block_size = scheme == CommScheme::hybrid ? inner : 1;
        Candidate c{{block, {}, scheme, block_size}, milp.add_variable(0.0, 1.0, 0.0, true), {}};
        const int p = static_cast<int>(block.size());
        Milp::Terms link{{c.used, -static_cast<double>(docs)}};
        for (int d = 0; d < docs; ++d) {
          const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
          const auto share = most_member_tokens(length, p);
          if (share > cap) continue;
          CpGroup alone{block, {{d, Sharding::split, 0}}, scheme, block_size};
          const double t = group_time_s(probe, alone, cost);
          const int v = milp.add_variable(0.0, 1.0, 0.0, true);
          c.split.push_back({d, v});
          link.push_back({v, 1.0});
          placed[static_cast<std::size_t>(d)].push_back({v, 1.0});
          for (int r : block) {
            time[static_cast<std::size_t>(r)].push_back({v, t});
            memory[static_cast<std::size_t>(r)].push_back({v, static_cast<double>(share)});
          }
        }
        milp.add_less_equal(link, 0.0);  // documents only in a used group
        const auto sets = communicator_sets(c.group);
        if (std::any_of(sets.begin(), sets.end(), [&](const RankSet& set) { return !communicators_.holds(set); }))
          milp.add_less_equal({{c.used, 1.0}, {creates, -1.0}}, 0.0);
        for (int r : block) blocks_of[static_cast<std::size_t>(r)].push_back({c.used, 1.0});
        if (scheme == CommScheme::all_gather)  // its executor splits every document: no whole ones on its members
          for (int r : block) {
            auto row = whole_on[static_cast<std::size_t>(r)];
            row.push_back({c.used, static_cast<double>(docs)});
            milp.add_less_equal(row, static_cast<double>(docs));
          }
        candidates.push_back(std::move(c));
      }
    }
    for (int d = 0; d < docs; ++d) {
      if (placed[static_cast<std::size_t>(d)].empty())
        throw ConfigError("document " + std::to_string(d) + " of " + std::to_string(batch.doc_lengths[static_cast<std::size_t>(d)]) +
                          " tokens fits no candidate group of the machine");
      milp.add_equal(placed[static_cast<std::size_t>(d)], 1.0);
    }
    for (int r = 0; r < ranks; ++r) {
      const auto i = static_cast<std::size_t>(r);
      if (!blocks_of[i].empty()) milp.add_less_equal(blocks_of[i], 1.0);
      time[i].push_back({makespan, -1.0});
      milp.add_less_equal(time[i], 0.0);
      if (!memory[i].empty()) milp.add_less_equal(memory[i], static_cast<double>(cap));
    }
    if (auto start = greedy_start(batch, candidates, whole, time, milp.variables(), makespan, creates)) milp.set_start(*start);
    const auto result = milp.solve(options_.limits);
    report_ = {true, result.has_solution(), result.status, result.solve_s, milp.variables(), result.objective, result.bound};
    if (!result.has_solution())
      throw ConfigError(std::string("the optimal planner's MILP found no plan (") + to_string(result.status) + ") within its limits");

    Plan plan;
    plan.strategy = name();
    plan.batch = batch;
    MicroBatch mb;
    std::vector<int> group_of(static_cast<std::size_t>(ranks), -1);
    auto chosen = [&](int v) { return result.values[static_cast<std::size_t>(v)] > 0.5; };
    for (auto& c : candidates) {
      if (!chosen(c.used)) continue;
      CpGroup group = c.group;
      for (auto [d, v] : c.split)
        if (chosen(v)) group.docs.push_back({d, Sharding::split, 0});
      if (group.docs.empty()) continue;  // used but empty: its ranks are free
      for (int r : group.ranks) group_of[static_cast<std::size_t>(r)] = static_cast<int>(mb.groups.size());
      mb.groups.push_back(std::move(group));
    }
    for (int d = 0; d < docs; ++d)
      for (int r = 0; r < ranks; ++r) {
        const int v = whole[static_cast<std::size_t>(d)][static_cast<std::size_t>(r)];
        if (v < 0 || !chosen(v)) continue;
        int& gi = group_of[static_cast<std::size_t>(r)];
        if (gi < 0) {
          gi = static_cast<int>(mb.groups.size());
          mb.groups.push_back({{r}, {}, CommScheme::needed_kv});
        }
        auto& g = mb.groups[static_cast<std::size_t>(gi)];
        const auto owner = std::find(g.ranks.begin(), g.ranks.end(), r) - g.ranks.begin();
        g.docs.push_back({d, Sharding::whole, static_cast<std::int32_t>(owner)});
      }
    plan.micro_batches.push_back(std::move(mb));
    // The objective is separable and can mislead (a document alone hides less of its exchange
    // than it does in company), so the reference is the better of the MILP's plan and the
    // greedy's under the full cost model; `kept` says which.
    if (greedy_plan_ && evaluate_plan(*greedy_plan_, cost).step_time_s < evaluate_plan(plan, cost).step_time_s) {
      plan = *greedy_plan_;
      plan.strategy = name();
      report_.kept = false;
    }
    communicators_.charge(plan);
    return plan;
  }

 private:
  struct Candidate {
    CpGroup group;
    int used = -1;
    std::vector<std::pair<int, int>> split;  // (document, variable)
  };

  // flexcp's greedy plan of the batch as the MILP's first incumbent, when it has one
  // micro-batch and its groups are candidates: the search then only improves on it (under the
  // MILP's objective).
  std::optional<std::vector<double>> greedy_start(const Batch& batch, const std::vector<Candidate>& candidates,
                                                  const std::vector<std::vector<int>>& whole,
                                                  const std::vector<Milp::Terms>& time, int variables, int makespan,
                                                  int creates) {
    greedy_plan_ = greedy_->plan(batch);
    const auto& plan = *greedy_plan_;
    if (plan.micro_batches.size() != 1) return std::nullopt;
    std::vector<double> start(static_cast<std::size_t>(variables), 0.0);
    for (const auto& group : plan.micro_batches.front().groups) {
      const bool single = group.ranks.size() < 2;
      const Candidate* match = nullptr;
      if (!single) {
        for (const auto& c : candidates)
          if (c.group.ranks == group.ranks && c.group.comm == group.comm) match = &c;
        if (match == nullptr) return std::nullopt;
        start[static_cast<std::size_t>(match->used)] = 1.0;
        const auto sets = communicator_sets(match->group);
        if (std::any_of(sets.begin(), sets.end(), [&](const RankSet& set) { return !communicators_.holds(set); }))
          start[static_cast<std::size_t>(creates)] = 1.0;
      }
      for (const auto& d : group.docs) {
        int v = -1;
        if (d.sharding == Sharding::whole) {
          v = whole[static_cast<std::size_t>(d.doc)][static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(d.owner)])];
        } else if (match != nullptr) {
          for (auto [doc, var] : match->split)
            if (doc == d.doc) v = var;
        }
        if (v < 0) return std::nullopt;
        start[static_cast<std::size_t>(v)] = 1.0;
      }
    }
    double slowest = 0.0;
    for (const auto& row : time) {
      double sum = 0.0;
      for (auto [v, coefficient] : row)
        if (v != makespan) sum += coefficient * start[static_cast<std::size_t>(v)];
      slowest = std::max(slowest, sum);
    }
    start[static_cast<std::size_t>(makespan)] = slowest;
    return start;
  }

  PlannerContext context_;
  OptimalOptions options_;
  SolverReport report_;
  CommunicatorAccounting communicators_;  // the LRU the executor's cache keeps, as flexcp's planner
  std::unique_ptr<Planner> greedy_;
  std::optional<Plan> greedy_plan_;  // of the last batch
};

}  // namespace

std::unique_ptr<Planner> make_optimal_planner(const PlannerContext& context, const OptimalOptions& options) {
  return std::make_unique<OptimalPlanner>(context, options);
}

}  // namespace flexcp::sched
