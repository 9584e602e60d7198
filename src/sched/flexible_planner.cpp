// The flexible planner (flexcp, and flexsp with power-of-two groups). Per batch:
//  1. Micro-batches: the fewest that memory allows. Documents, longest first, go to the
//     micro-batch with the fewest tokens (LPT); a document longer than the whole machine holds
//     is an error naming it.
//  2. In each micro-batch, with W the batch's single-rank training time and T = W / P the
//     perfectly balanced share, a document is split when it does not fit one rank's memory or
//     its time exceeds T. It then gets g = max(ranks memory needs, ceil(time / T)) ranks
//     (rounded up to a power of two for flexsp) as one node-aware block, a recent rank set
//     first; flexcp sizes it by slice shape and scheme instead, and gives a document that no
//     such size finishes within T a larger group when that finishes the micro-batch sooner.
//     If no block of g down to the memory minimum is free, it joins the least-loaded
//     existing group large enough to hold it.
//  3. Whole documents, longest first, go to the least-loaded rank with memory to spare (LPT),
//     joining that rank's group (or a group of one).
//  4. Each group of >= 2 ranks gets the communication scheme the cost model finds fastest among
//     those flexcp run executes (scheme_choice.hpp); a new communicator is created only when
//     that makes the micro-batch faster.
// If a micro-batch cannot be placed, the planner retries with one more micro-batch. On small
// machines the placement is compared with one group of every rank, every document split; that
// group is kept only when the cost model finds it clearly (1%) faster. A micro-batch dominated by
// one document (half its work) on a machine spanning nodes also weighs that group at any size,
// taken whenever faster, and the dominant document over every rank with the rest placed around it.
// Cost: O(D log D + D log P + S N) for D documents, P ranks, N nodes and S split documents,
// each placement scanning the nodes once (docs/planner.md).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <queue>
#include <set>
#include <utility>

#include "sched/flexsp_planner.hpp"
#include "sched/communicator_accounting.hpp"
#include "sched/free_ranks.hpp"
#include "sched/group_sizing.hpp"
#include "sched/planner.hpp"
#include "sched/rank_set_history.hpp"
#include "sched/standing_communicators.hpp"
#include "sched/static_layout.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

int next_power_of_two(int x) {
  int p = 1;
  while (p < x) p *= 2;
  return p;
}

// An upper bound on the tokens any member holds when `length` is split zigzag over `group`
// ranks: two chunks of at most ceil(L / 2P) tokens each. O(1), and at most one token above the
// exact maximum.
std::int64_t max_share(std::int64_t length, int group) {
  const std::int64_t chunks = 2 * static_cast<std::int64_t>(group);
  return 2 * ((length + chunks - 1) / chunks);
}

// A whole document may push its rank this far past the balanced share before the planner
// tries spreading it over an existing group instead.
constexpr double kOvershoot = 1.005;
// ... and only documents worth at least this share of a rank's balanced load are considered:
// smaller ones overshoot by less than they would cost to spread.
constexpr double kSpreadWorthy = 0.02;
// Groups examined (least busy first) when looking for one to share: bounds planning time.
constexpr std::size_t kGroupsScanned = 64;

// A document whose group size place() takes from its caller rather than from the sizing rule.
struct Forced {
  std::int32_t doc = -1;
  int size = 0;
};

class FlexiblePlanner final : public Planner {
 public:
  // `choose`: pick each group's scheme from the cost model (flexcp); otherwise every group uses `comm`.
  FlexiblePlanner(const PlannerContext& context, bool power_of_two, CommScheme comm, std::string name,
                  std::optional<SchemeSet> choose)
      : context_(context), power_of_two_(power_of_two), comm_(comm), name_(std::move(name)),
        largest_group_(largest_group(context, power_of_two)), choose_(choose),
        communicators_(choose ? rank_sets_of(flexcp_standing_communicators(context.cost)) : std::vector<RankSet>{},
                       context.comm_cache_size) {
    if (choose_) sizing_.emplace(context.cost, *choose_);
  }

  std::string name() const override { return name_; }

  Plan plan(const Batch& batch) override {
    const auto& cluster = context_.cost.cluster;
    const std::int64_t cap = context_.capacity_tokens;
    const std::int64_t machine = cap * cluster.ranks();
    for (std::size_t d = 0; d < batch.doc_lengths.size(); ++d)
      if (batch.doc_lengths[d] > machine || min_group(batch.doc_lengths[d]) > largest_group_)
        throw ConfigError("document " + std::to_string(d) + " of " + std::to_string(batch.doc_lengths[d]) +
                          " tokens cannot fit in any group of the machine: groups of at most " +
                          std::to_string(largest_group_) + " ranks" +
                          (power_of_two_ ? " (head-parallel groups cannot split heads further)" : "") + ", each holding " +
                          std::to_string(cap) + " tokens");
    std::vector<double> work(batch.doc_lengths.size());
    for (std::size_t d = 0; d < work.size(); ++d) work[d] = single_rank_work_s(batch.doc_lengths[d], context_.cost);
    // Longest first, ties in batch order; sorted as (-length, index) keys, which keeps the
    // comparisons in cache (an index sort reads the lengths at random).
    std::vector<std::pair<std::int64_t, std::int32_t>> keys(batch.doc_lengths.size());
    for (std::size_t d = 0; d < keys.size(); ++d) keys[d] = {-batch.doc_lengths[d], static_cast<std::int32_t>(d)};
    std::sort(keys.begin(), keys.end());
    std::vector<std::int32_t> order(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].second;

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
      std::vector<double> times;  // per group, as the scheme choice evaluated it
      const bool exceeded = !exceeded_docs_.empty();
      if (choose_) choose(plan, plan.micro_batches.size() - 1, single_rank_load_, exceeded ? &times : nullptr);
      if (exceeded) keep_balanced_if_faster(batch, docs, work, plan, times);
      // The greedy micro-batch's time with communicator creation, once a comparison has
      // evaluated it (NaN until then): the next comparison against the same micro-batch reuses it.
      double greedy_s = std::numeric_limits<double>::quiet_NaN();
      if (auto single = one_group_if_faster(batch, docs, work, plan.micro_batches.back(), greedy_s)) {
        plan.micro_batches.back() = *single;
        greedy_s = std::numeric_limits<double>::quiet_NaN();
      }
      // After the one-group comparison (which keeps its margin against the greedy's placement),
      // so that this candidate only ever replaces a slower micro-batch.
      if (auto spread = dominant_over_all_if_faster(batch, docs, work, plan.micro_batches.back(), greedy_s))
        plan.micro_batches.back() = *spread;
    }
    return plan;
  }

  // On small machines one group of every rank with every document split (Megatron-LM's layout,
  // with flexcp's needed-KV exchange) is a real contender: when the greedy placement's
  // granularity leaves ranks idle it can win. Compare the two with the cost model and keep the
  // faster. Evaluating it costs O(D P), so only where D P <= kSingleGroupWork; at larger scale a
  // machine-wide group pays inter-node traffic on every document and never wins, except in a
  // micro-batch dominated by one document: that is Megatron-LM a2a+p2p's own layout (every
  // document split over every rank, all-to-all in nodes) with needed-KV for its ring and no
  // padding, so weighing it there means flexcp is never slower than that baseline under the
  // model. Those micro-batches are rare (extreme batches), and there, on machines spanning nodes
  // (where a2a+p2p exists), it is taken whenever faster; elsewhere the 1% margin keeps short
  // documents whole.
  std::optional<MicroBatch> one_group_if_faster(const Batch& batch, const std::vector<std::int32_t>& docs,
                                                const std::vector<double>& work, const MicroBatch& greedy,
                                                double& greedy_s) const {
    constexpr std::int64_t kSingleGroupWork = 1 << 16;
    const int ranks = context_.cost.cluster.ranks();
    const bool large = static_cast<std::int64_t>(docs.size()) * ranks > kSingleGroupWork;
    const bool dominated = choose_ && ranks > context_.cost.cluster.ranks_per_node && dominated_by_one(docs, work);
    if (power_of_two_ || ranks < 2 || (large && !dominated)) return std::nullopt;
    CpGroup all;
    all.ranks.resize(static_cast<std::size_t>(ranks));
    std::iota(all.ranks.begin(), all.ranks.end(), 0);
    all.comm = comm_;
    std::int64_t most = 0;
    for (auto d : docs) {
      all.docs.push_back({d, Sharding::split, 0});
      most += max_share(batch.doc_lengths[static_cast<std::size_t>(d)], ranks);
    }
    if (most > context_.capacity_tokens) return std::nullopt;
    Plan candidate, current;
    candidate.batch = current.batch = batch;
    candidate.micro_batches = {MicroBatch{{all}}};
    current.micro_batches = {greedy};
    if (dominated) {  // communicator creation counted as the study counts it
      const double to_beat = evaluate_plan(current, context_.cost).step_time_s + creation_s(greedy);
      greedy_s = to_beat;
      // Exact prune: the group's slowest member is no faster than its average one, so when the
      // average cannot beat the greedy, the O(D P) evaluations are skipped.
      if (all_split_floor_s(batch, docs) + context_.cost.hardware.microbatch_overhead_s >= to_beat) return std::nullopt;
      // The choice evaluated the group under each scheme: its time under the one chosen is the
      // micro-batch's slowest rank, so evaluate_plan would give that plus the micro-batch overhead.
      std::vector<double> times;
      choose(candidate, 0, 0.0, &times);
      const double candidate_s = std::isnan(times.front())
                                     ? evaluate_plan(candidate, context_.cost).step_time_s
                                     : times.front() + context_.cost.hardware.microbatch_overhead_s;
      if (candidate_s + creation_s(candidate.micro_batches.front()) < to_beat)
        return candidate.micro_batches.front();
      return std::nullopt;
    }
    if (choose_) choose(candidate, 0, 0.0);
    // Only when clearly faster: otherwise keep the placement that splits fewer documents.
    constexpr double kClearlyFaster = 0.99;
    if (evaluate_plan(candidate, context_.cost).step_time_s < kClearlyFaster * evaluate_plan(current, context_.cost).step_time_s)
      return candidate.micro_batches.front();
    return std::nullopt;
  }

  // The average member's busy time when every document of `docs` is split over every rank (no
  // padding), under the cheapest slice shape a scheme gives the group: zigzag chunks over the
  // ranks (needed-KV, all-gather) or over the hybrid's blocks, or whole causal documents
  // (all-to-all). The members' mask areas add up to each document's causal area and every member
  // runs a document at the same slice shape, so this is the cost model's mean exactly, in O(D).
  double all_split_floor_s(const Batch& batch, const std::vector<std::int32_t>& docs) const {
    const auto& c = context_.cost;
    const int ranks = c.cluster.ranks();
    std::vector<int> positions{ranks};
    if (const int block = sizing_->hybrid_block(ranks); block > 0) positions.push_back(ranks / block);
    const bool ulysses = choose_->all_to_all && ulysses_heads_problem(c.model, ranks).empty();
    const double passes = c.model.attention_forward_passes();
    double linear = 0.0;
    std::vector<double> attention(positions.size() + 1, 0.0);  // per shape; the last: whole causal
    for (auto d : docs) {
      const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
      const double l = static_cast<double>(length), pairs = 0.5 * l * (l + 1.0);
      if (!c.attention_only)
        linear += l * c.model.linear_flops_per_token() * c.model.linear_executed_factor() / c.hardware.matmul_flops;
      for (std::size_t k = 0; k < positions.size(); ++k) {
        const auto t = attention_pass_times(pairs, SliceMask::full, l / (2.0 * positions[k]), c);
        attention[k] += passes * t.forward_s + t.backward_s;
      }
      const auto t = attention_pass_times(pairs, SliceMask::causal, l, c);
      attention.back() += passes * t.forward_s + t.backward_s;
    }
    if (!ulysses) attention.pop_back();
    return (linear + *std::min_element(attention.begin(), attention.end())) / ranks;
  }

  // Whether one document holds at least half of the micro-batch's single-rank work; its index
  // in `longest_out`.
  static bool dominated_by_one(const std::vector<std::int32_t>& docs, const std::vector<double>& work,
                               std::int32_t* longest_out = nullptr) {
    constexpr double kDominant = 0.5;
    if (docs.empty()) return false;
    double total = 0.0;
    std::int32_t longest = docs.front();
    for (auto d : docs) {
      total += work[static_cast<std::size_t>(d)];
      if (work[static_cast<std::size_t>(d)] > work[static_cast<std::size_t>(longest)]) longest = d;
    }
    if (longest_out != nullptr) *longest_out = longest;
    return work[static_cast<std::size_t>(longest)] >= kDominant * total;
  }

  // A micro-batch dominated by one document (most of its work, e.g. an "extreme" batch) is
  // balanced by the granularity of that document's group: the greedy sizes it by estimate among
  // a few whole-node sizes, and the ranks left over either idle or overflow (weak scaling, 256
  // GPUs: a 2.5M-token document on 240 ranks finished 4% after Megatron-LM's a2a+p2p, which
  // splits everything over all ranks). The dominant document over every rank (the hybrid where
  // the machine spans nodes: a2a+p2p's own layout of it, with needed-KV), the others placed by
  // the same greedy around it, is judged with the full cost model and kept when faster. O(D + P)
  // per evaluation, once per dominated micro-batch.
  std::optional<MicroBatch> dominant_over_all_if_faster(const Batch& batch, const std::vector<std::int32_t>& docs,
                                                        const std::vector<double>& work, const MicroBatch& greedy,
                                                        double greedy_s) {
    const int ranks = context_.cost.cluster.ranks();
    std::int32_t longest = -1;
    if (!choose_ || ranks < 2 || !dominated_by_one(docs, work, &longest)) return std::nullopt;
    for (const auto& group : greedy.groups)
      for (const auto& d : group.docs)
        if (d.doc == longest && static_cast<int>(group.ranks.size()) == ranks) return std::nullopt;  // already so
    const double greedy_load = single_rank_load_;
    auto candidate = place(batch, docs, work, Forced{longest, ranks});
    if (!candidate) {
      single_rank_load_ = greedy_load;
      return std::nullopt;
    }
    Plan a, b;
    a.batch = b.batch = batch;
    a.micro_batches = {greedy};
    b.micro_batches = {std::move(*candidate)};
    choose(b, 0, single_rank_load_);
    // Communicator creation counts as in the study (one round when any set is missing).
    // The greedy's time as one_group_if_faster found it, when it evaluated the same micro-batch.
    const double to_beat = std::isnan(greedy_s) ? evaluate_plan(a, context_.cost).step_time_s + creation_s(greedy) : greedy_s;
    if (evaluate_plan(b, context_.cost).step_time_s + creation_s(b.micro_batches.front()) < to_beat)
      return b.micro_batches.front();
    single_rank_load_ = greedy_load;
    return std::nullopt;
  }

  // GroupSizing::size_for() judges a larger group by a rough guess at what the ranks it takes
  // would have done (the unsplit work spread evenly over the ranks left). Where it took one, the
  // placement that keeps every group at its balanced size is weighed under the full cost model
  // (communicator creation included) and kept when faster, so the guess can only win; unless the
  // micro-batch already finishes by the time the larger-grouped documents would take alone on
  // their balanced groups, which the balanced placement cannot beat. O(D + P).
  // `plan`'s last micro-batch is the placement that took a larger group, `times` its groups' times.
  void keep_balanced_if_faster(const Batch& batch, const std::vector<std::int32_t>& docs, const std::vector<double>& work,
                               Plan& plan, const std::vector<double>& times) {
    const double placed_load = single_rank_load_;
    const std::size_t last = plan.micro_batches.size() - 1;
    const double placed_s = micro_batch_s(plan, last, times);
    // The balanced placement gives each such document its fastest size up to g0: it cannot
    // finish before the slowest of them alone there. Where the placement found already finishes
    // by then (the common case at ~1K tokens per rank), the second placement is skipped.
    double balanced_floor = 0.0;
    for (const auto& [doc, size] : exceeded_docs_) balanced_floor = std::max(balanced_floor, alone_s(plan, doc, size));
    if (placed_s <= balanced_floor + context_.cost.hardware.microbatch_overhead_s) {
      single_rank_load_ = placed_load;
      return;
    }
    if (auto balanced = place(batch, docs, work, {}, false)) {
      MicroBatch placed = std::exchange(plan.micro_batches[last], std::move(*balanced));
      std::vector<double> balanced_times;
      choose(plan, last, single_rank_load_, &balanced_times);
      if (micro_batch_s(plan, last, balanced_times) < placed_s) return;  // single_rank_load_ is the balanced one's
      plan.micro_batches[last] = std::move(placed);
    }
    single_rank_load_ = placed_load;
  }

  // Document `doc` alone, split over the `size` lowest ranks (whole nodes, then part of one more,
  // as the placement takes blocks), under its fastest executable scheme: group_time_s.
  double alone_s(const Plan& plan, std::int32_t doc, int size) const {
    CpGroup group;
    group.ranks.resize(static_cast<std::size_t>(size));
    std::iota(group.ranks.begin(), group.ranks.end(), 0);
    group.docs.push_back({doc, Sharding::split, 0});
    int inner = 1;
    double best = std::numeric_limits<double>::infinity();
    for (auto scheme : executable_schemes(group, context_.cost.cluster, context_.cost.model, *choose_, &inner)) {
      group.comm = scheme;
      group.inner = inner;
      best = std::min(best, group_time_s(plan, group, context_.cost));
    }
    return best;
  }

  // Micro-batch `mb` of `plan` under the full cost model, as evaluate_plan charges it: its
  // slowest group (groups are disjoint and cover every busy rank) plus the micro-batch overhead,
  // and a creation round where a communicator is missing. `times`: per group, the time the
  // scheme choice found (NaN where it compared nothing; evaluated here).
  double micro_batch_s(const Plan& plan, std::size_t mb, const std::vector<double>& times) const {
    const auto& groups = plan.micro_batches[mb].groups;
    double slowest = 0.0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const bool chosen = g < times.size() && !std::isnan(times[g]);
      slowest = std::max(slowest, chosen ? times[g] : group_time_s(plan, groups[g], context_.cost));
    }
    return slowest + context_.cost.hardware.microbatch_overhead_s + creation_s(plan.micro_batches[mb]);
  }

  // What making the micro-batch's missing communicators costs: one round when any is missing.
  double creation_s(const MicroBatch& mb) const {
    for (const auto& group : mb.groups)
      for (const auto& set : communicator_sets(group))
        if (!communicators_.holds(set)) return context_.cost.hardware.communicator_create_s;
    return 0.0;
  }

  // `may_exceed_balance`: a document critical at every balanced size may take a larger group
  // (GroupSizing::size_for); exceeded_docs_ lists those that did.
  std::optional<MicroBatch> place(const Batch& batch, const std::vector<std::int32_t>& docs, const std::vector<double>& work,
                                  Forced forced = {}, bool may_exceed_balance = true) {
    exceeded_docs_.clear();
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
    // Groups of >= 2 ranks by their busiest member's load, lazily refreshed (loads only grow).
    std::priority_queue<std::pair<double, int>, std::vector<std::pair<double, int>>, std::greater<>> split_groups;
    int largest_group = -1;

    // Per group: its busiest member's load and fullest member's tokens. Loads and tokens only
    // grow, so both stay exact with O(1) updates.
    std::vector<double> busiest;
    std::vector<std::int64_t> fullest;
    double makespan = 0.0;  // the busiest rank's load so far: the micro-batch takes at least this
    auto touch = [&](int group_index, std::size_t rank) {
      makespan = std::max(makespan, load[rank]);
      if (busiest.size() <= static_cast<std::size_t>(group_index)) {
        busiest.resize(static_cast<std::size_t>(group_index) + 1, 0.0);
        fullest.resize(busiest.size(), 0);
      }
      busiest[static_cast<std::size_t>(group_index)] = std::max(busiest[static_cast<std::size_t>(group_index)], load[rank]);
      fullest[static_cast<std::size_t>(group_index)] = std::max(fullest[static_cast<std::size_t>(group_index)], held[rank]);
    };
    auto add_split = [&](int group_index, std::int32_t doc) {
      auto& group = mb.groups[static_cast<std::size_t>(group_index)];
      const int p = static_cast<int>(group.ranks.size());
      const auto length = batch.doc_lengths[static_cast<std::size_t>(doc)];
      group.docs.push_back({doc, Sharding::split, 0});
      const double increment = split_increment(length, work[static_cast<std::size_t>(doc)], p);
      for (int i = 0; i < p; ++i) {
        const auto r = static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(i)]);
        load[r] += increment;
        held[r] += zigzag::tokens(length, p, i);
        touch(group_index, r);
      }
    };

    double split_work = 0.0;  // single-rank work of the documents split so far
    for (auto d : docs) {
      const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
      const double w = work[static_cast<std::size_t>(d)];
      if (length <= cap && w <= target && d != forced.doc) {
        whole_docs.push_back(d);
        continue;
      }
      const int g_min = min_group(length);
      int g = std::max(g_min, static_cast<int>(std::ceil(w / target - 1e-9)));
      g = std::min(g, ranks);
      if (power_of_two_) g = std::min(next_power_of_two(g), largest_group_);
      if (choose_) {
        const int balanced = g;
        std::optional<GroupSizing::Remaining> left;
        if (may_exceed_balance) left = GroupSizing::Remaining{total - split_work - w, free_ranks.free_count()};
        int fastest_balanced = 0;
        g = sizing_->size_for(length, target, std::max(g_min, 2), g, left, &fastest_balanced);
        if (g > balanced) exceeded_docs_.push_back({d, fastest_balanced});
      }
      if (d == forced.doc) g = std::max(forced.size, g_min);
      if (g < g_min) return std::nullopt;
      std::optional<std::vector<int>> block;
      if (g >= 2) block = free_ranks.take(g, history_);
      // A smaller block than wanted is taken only while it beats spreading over an existing group.
      int join = -1;
      if (!block) {
        join = best_group_for(mb, split_groups, largest_group, length, std::numeric_limits<double>::infinity(), busiest,
                              fullest, g_min);
        const double join_finish =
            join < 0 ? std::numeric_limits<double>::infinity()
                     : busiest[static_cast<std::size_t>(join)] +
                           split_increment(length, w, static_cast<int>(mb.groups[static_cast<std::size_t>(join)].ranks.size()));
        // No block larger than the free ranks can be taken: start there.
        int first = power_of_two_ ? g / 2 : g - 1;
        if (!power_of_two_) first = std::min(first, free_ranks.free_count());
        for (int size = first; size >= std::max(g_min, 2) && !block; size = power_of_two_ ? size / 2 : size - 1)
          if (split_increment(length, w, size) < join_finish) block = free_ranks.take(size, history_);
      }
      if (block) {
        mb.groups.push_back({std::vector<std::int32_t>(block->begin(), block->end()), {}, comm_});
        const int index = static_cast<int>(mb.groups.size()) - 1;
        split_groups.push({0.0, index});
        if (largest_group < 0 || block->size() > mb.groups[static_cast<std::size_t>(largest_group)].ranks.size())
          largest_group = index;
        for (int r : *block) group_of[static_cast<std::size_t>(r)] = index;
        add_split(index, d);
        split_work += w;
        continue;
      }
      const int best = join;
      if (best < 0) return std::nullopt;
      add_split(best, d);
      split_work += w;
    }

    // Whole documents: LPT onto the least-loaded rank with room.
    using Entry = std::pair<double, int>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> lightest;
    for (int r = 0; r < ranks; ++r) lightest.push({load[static_cast<std::size_t>(r)], r});
    std::vector<Entry> skipped;
    for (auto d : whole_docs) {
      const auto length = batch.doc_lengths[static_cast<std::size_t>(d)];
      while (!lightest.empty()) {
        const auto [stored, rank] = lightest.top();
        const auto i = static_cast<std::size_t>(rank);
        if (stored != load[i]) {  // spreading raised this rank's load since: re-insert it as it is now
          lightest.pop();
          lightest.push({load[i], rank});
          continue;
        }
        if (held[i] + length <= cap) break;
        skipped.push_back(lightest.top());  // full for this document; back in the heap afterwards
        lightest.pop();
      }
      if (lightest.empty()) return std::nullopt;
      const int r = lightest.top().second;
      for (const auto& e : skipped) lightest.push(e);
      skipped.clear();
      // LPT overshoots by up to one document. When this one would push its rank past the
      // balanced share, spreading it over an existing group may finish earlier.
      const double w = work[static_cast<std::size_t>(d)];
      // Where a document was sized past the balanced share (GroupSizing::size_for()), finishing
      // below the busiest rank so far costs the micro-batch nothing.
      const double ceiling = exceeded_docs_.empty() ? target : std::max(target, makespan);
      if (w > kSpreadWorthy * target && load[static_cast<std::size_t>(r)] + w > ceiling * kOvershoot) {
        const int g = best_group_for(mb, split_groups, largest_group, length, load[static_cast<std::size_t>(r)] + w, busiest, fullest);
        if (g >= 0) {
          add_split(g, d);  // the members' heap entries are refreshed lazily when they surface
          continue;
        }
      }
      lightest.pop();
      load[static_cast<std::size_t>(r)] += work[static_cast<std::size_t>(d)];
      held[static_cast<std::size_t>(r)] += length;
      lightest.push({load[static_cast<std::size_t>(r)], r});
      int& gi = group_of[static_cast<std::size_t>(r)];
      if (gi < 0) {
        mb.groups.push_back({{r}, {}, comm_});
        gi = static_cast<int>(mb.groups.size()) - 1;
      }
      touch(gi, static_cast<std::size_t>(r));
      auto& group = mb.groups[static_cast<std::size_t>(gi)];
      const auto owner = std::find(group.ranks.begin(), group.ranks.end(), r) - group.ranks.begin();
      group.docs.push_back({d, Sharding::whole, static_cast<std::int32_t>(owner)});
    }
    single_rank_load_ = 0.0;
    for (int r = 0; r < ranks; ++r) {
      const int gi = group_of[static_cast<std::size_t>(r)];
      if (gi < 0 || mb.groups[static_cast<std::size_t>(gi)].ranks.size() < 2)
        single_rank_load_ = std::max(single_rank_load_, load[static_cast<std::size_t>(r)]);
    }
    return mb;
  }

  // The split group of at least `min_size` ranks, with memory for the document's shares on its
  // fullest member, whose busiest member would finish earliest with the document spread over it,
  // if that is before `to_beat`; -1 otherwise. Candidates: the kGroupsScanned least busy groups
  // (a lazily refreshed heap; loads only grow) and the largest group, where a share is smallest.
  template <class Heap>
  int best_group_for(const MicroBatch& mb, Heap& groups, int largest, std::int64_t length, double to_beat,
                     const std::vector<double>& busiest, const std::vector<std::int64_t>& fullest, int min_size = 2) const {
    const double w = single_rank_work_s(length, context_.cost);
    int best = -1;
    // Groups of one size cost the document alike: each size's estimate once per call.
    std::vector<std::pair<int, double>> increments;
    auto increment = [&](int p) {
      for (const auto& [size, t] : increments)
        if (size == p) return t;
      return increments.emplace_back(p, split_increment(length, w, p)).second;
    };
    auto consider = [&](int gi) {
      const auto i = static_cast<std::size_t>(gi);
      const int p = static_cast<int>(mb.groups[i].ranks.size());
      if (p < min_size || busiest[i] >= to_beat || fullest[i] + max_share(length, p) > context_.capacity_tokens) return;
      const double finish = busiest[i] + increment(p);
      if (finish < to_beat) {
        to_beat = finish;
        best = gi;
      }
    };
    std::vector<std::pair<double, int>> passed;
    while (!groups.empty() && passed.size() < kGroupsScanned) {
      // Entries never overstate a group's load and come least loaded first: once one is no
      // earlier than the finish to beat, no group left can beat it.
      if (groups.top().first >= to_beat) break;
      const auto [stored, gi] = groups.top();
      groups.pop();
      if (stored != busiest[static_cast<std::size_t>(gi)]) {
        groups.push({busiest[static_cast<std::size_t>(gi)], gi});
        continue;
      }
      passed.push_back({stored, gi});
      consider(gi);
    }
    for (const auto& e : passed) groups.push(e);
    if (largest >= 0) consider(largest);
    return best;
  }

  // What a member of a group of p ranks spends on a split document: flexcp estimates it by slice
  // shape and scheme (group_sizing.hpp); flexsp keeps its work / p.
  double split_increment(std::int64_t length, double w, int p) const {
    return sizing_ ? sizing_->split_increment(length, p) : w / p;
  }

  // Each group's scheme from the cost model; a communicator exists when the plans so far left it
  // in the cache (the same LRU the executor's cache and the study's accounting keep).
  void choose(Plan& plan, std::size_t mb, double others_s, std::vector<double>* times = nullptr) const {
    choose_schemes(plan, mb, context_.cost, *choose_, others_s,
                   [this](const RankSet& set) { return communicators_.holds(set); }, times);
  }

  void record(Plan& plan) {
    if (choose_) communicators_.charge(plan);
    // Distinct sets in first-use order (the order the history records them); a set lookup, not
    // a scan of the sets so far, since a plan at 16,384 ranks has thousands of groups.
    std::vector<std::vector<int>> sets;
    std::set<std::vector<int>> seen;
    for (const auto& mb : plan.micro_batches)
      for (const auto& group : mb.groups)
        if (group.ranks.size() >= 2) {
          std::vector<int> set(group.ranks.begin(), group.ranks.end());
          if (seen.insert(set).second) sets.push_back(std::move(set));
        }
    plan.rank_sets_used = static_cast<int>(sets.size());
    for (const auto& set : sets) {
      if (!history_.contains(set)) plan.new_rank_sets += 1;
      history_.record(set);
    }
  }

  // flexsp: Ulysses groups of a power-of-two size that splits whole heads; flexcp: any size.
  static int largest_group(const PlannerContext& context, bool power_of_two) {
    const int ranks = context.cost.cluster.ranks();
    if (!power_of_two) return ranks;
    int largest = 1;
    for (int g = 2; g <= ranks; g *= 2)
      if (ulysses_heads_problem(context.cost.model, g).empty()) largest = g;
    return largest;
  }

  PlannerContext context_;
  bool power_of_two_;
  CommScheme comm_;
  std::string name_;
  int largest_group_;
  std::optional<SchemeSet> choose_;
  std::optional<GroupSizing> sizing_;  // flexcp's sizing rule (with choose_)
  CommunicatorAccounting communicators_;
  double single_rank_load_ = 0.0;  // of the last place(): the busiest rank outside split groups
  // Of the last place(): the documents given a group above their balanced size, each with its
  // fastest size up to g0 (empty: every group at most balanced).
  std::vector<std::pair<std::int32_t, int>> exceeded_docs_;
  RankSetHistory history_;
};
}  // namespace

std::unique_ptr<Planner> make_flexcp_planner(const PlannerContext& context, SchemeSet schemes) {
  return std::make_unique<FlexiblePlanner>(context, false, CommScheme::needed_kv, "flexcp", schemes);
}

std::unique_ptr<Planner> make_flexsp_greedy_planner(const PlannerContext& context) {
  return std::make_unique<FlexiblePlanner>(context, true, CommScheme::all_to_all, "flexsp-greedy", std::nullopt);
}

}  // namespace flexcp::sched
