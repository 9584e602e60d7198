// Static context parallelism as people run it today (layouts in static_layout.hpp): DP = P / c
// replicas of c consecutive ranks, the same groups every batch. Each micro-batch holds exactly
// one packed sequence per replica, balanced by tokens as a good data pipeline packs them:
// documents, longest first, go to the sequence with the fewest tokens (LPT), never cut, so every
// strategy computes the same attention. Only when memory demands does a batch take more
// micro-batches (m x DP sequences). Every document of a sequence is split over its replica's
// group: zigzag 2c chunks, THD-padded to a multiple of 2c in `flexcp plan` (TransformerEngine's
// requirement; the executors of `flexcp run` need no padding). A degree whose group cannot hold
// a batch's longest document cannot run that batch.
#include <algorithm>
#include <numeric>
#include <optional>
#include <queue>

#include "sched/split_share.hpp"
#include "sched/static_layout.hpp"

namespace flexcp::sched {
namespace {

class StaticPlanner final : public Planner {
 public:
  StaticPlanner(const PlannerContext& context, const StaticLayout& layout) : context_(context), layout_(layout) {
    if (auto problem = layout_problem(context, layout); !problem.empty()) throw ConfigError(problem);
    group_.comm = layout.comm;
    group_.inner = layout.inner;
    group_.pad_multiple = context.thd_padding ? layout.pad_multiple() : 1;
    for (int i = 0; i < layout.degree; ++i) group_.ranks.push_back(i);
  }

  std::string name() const override { return layout_.name(); }

  Plan plan(const Batch& batch) override {
    const int replicas = context_.cost.cluster.ranks() / layout_.degree;
    // Tokens the busiest member of a group holds for each document (padded shares).
    std::vector<std::int64_t> held(batch.doc_lengths.size());
    std::int64_t total = 0;
    for (std::size_t d = 0; d < held.size(); ++d) {
      held[d] = most_held(batch.doc_lengths[d]);
      total += held[d];
      if (held[d] > context_.capacity_tokens)
        throw ConfigError(name() + ": a document of " + std::to_string(batch.doc_lengths[d]) +
                          " tokens does not fit a CP group of " + std::to_string(layout_.degree) + " ranks (" +
                          std::to_string(context_.capacity_tokens) + " tokens each); this degree cannot run the batch");
    }
    std::vector<std::int32_t> order(held.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
      return batch.doc_lengths[static_cast<std::size_t>(a)] > batch.doc_lengths[static_cast<std::size_t>(b)];
    });
    const std::int64_t per_micro_batch = context_.capacity_tokens * replicas;
    for (std::int64_t m = std::max<std::int64_t>(1, (total + per_micro_batch - 1) / per_micro_batch);
         m <= static_cast<std::int64_t>(held.size()); ++m)
      if (auto plan = pack(batch, order, held, replicas, static_cast<int>(m))) return *plan;
    throw ConfigError(name() + ": the batch does not fit at any micro-batch count");
  }

 private:
  // The most tokens any member holds of one document: two zigzag chunks of the padded length,
  // each at most ceil(L_padded / 2c) (exact when padded to 2c). O(1).
  std::int64_t most_held(std::int64_t length) const {
    const std::int64_t padded = padded_length(length, group_.pad_multiple), chunks = 2 * static_cast<std::int64_t>(layout_.degree);
    return layout_.degree == 1 ? padded : 2 * ((padded + chunks - 1) / chunks);
  }

  // LPT of the documents into micro_batches x replicas sequences by tokens; nullopt when a
  // sequence would overflow its group's memory.
  std::optional<Plan> pack(const Batch& batch, const std::vector<std::int32_t>& order, const std::vector<std::int64_t>& held,
                           int replicas, int micro_batches) const {
    const auto sequences = static_cast<std::size_t>(replicas) * static_cast<std::size_t>(micro_batches);
    std::vector<std::vector<std::int32_t>> docs(sequences);
    std::vector<std::int64_t> busiest(sequences, 0);  // sum of each document's largest member share
    using Entry = std::pair<std::int64_t, std::size_t>;  // (tokens, sequence): fewest tokens first, then index
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> lightest;
    for (std::size_t s = 0; s < sequences; ++s) lightest.push({0, s});
    for (auto d : order) {
      auto [tokens, s] = lightest.top();
      lightest.pop();
      const auto i = static_cast<std::size_t>(d);
      busiest[s] += held[i];
      if (busiest[s] > context_.capacity_tokens) return std::nullopt;
      docs[s].push_back(d);
      lightest.push({tokens + batch.doc_lengths[i], s});
    }
    Plan plan;
    plan.strategy = name();
    plan.batch = batch;
    for (int mb = 0; mb < micro_batches; ++mb) {
      MicroBatch micro;
      for (int replica = 0; replica < replicas; ++replica) {
        auto& mine = docs[static_cast<std::size_t>(mb) * static_cast<std::size_t>(replicas) + static_cast<std::size_t>(replica)];
        if (mine.empty()) continue;
        std::sort(mine.begin(), mine.end());  // loader order inside a sequence
        CpGroup group = group_;
        for (auto& r : group.ranks) r += replica * layout_.degree;
        for (auto doc : mine) group.docs.push_back({doc, Sharding::split, 0});
        micro.groups.push_back(std::move(group));
      }
      plan.micro_batches.push_back(std::move(micro));
    }
    plan.rank_sets_used = layout_.degree > 1 ? replicas : 0;
    return plan;
  }

  PlannerContext context_;
  StaticLayout layout_;
  CpGroup group_;  // replica 0's group, without documents
};

StaticLayout layout_of(int degree, CommScheme comm) {
  return {comm == CommScheme::all_to_all ? StaticFamily::ulysses : StaticFamily::megatron, comm, degree, 1};
}
}  // namespace

std::string static_degree_problem(const PlannerContext& context, int degree, CommScheme comm) {
  return layout_problem(context, layout_of(degree, comm));
}

std::unique_ptr<Planner> make_static_planner(const PlannerContext& context, const StaticLayout& layout) {
  return std::make_unique<StaticPlanner>(context, layout);
}

std::unique_ptr<Planner> make_static_planner(const PlannerContext& context, int degree, CommScheme comm) {
  return make_static_planner(context, layout_of(degree, comm));
}

}  // namespace flexcp::sched
