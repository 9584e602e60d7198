// Static context parallelism as people run it today: a fixed degree c, DP = P / c data-parallel
// replicas on consecutive ranks, documents packed in data-loader order into fixed-capacity
// sequences (next fit: a document that does not fit the current sequence starts the next), one
// sequence per replica per micro-batch, every document of a sequence split zigzag over its
// replica's c ranks. The capacity is the batch's share per replica, T / DP, raised to the
// longest document so no document is cut: every strategy computes the same attention. A degree
// whose group cannot hold the longest document is infeasible for that batch. megatron-cp moves
// KV around a ring (or all-gathers it); ulysses transposes sequence and heads with all-to-all.
#include <algorithm>

#include "sched/planner.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

std::string label(int degree, CommScheme comm) {
  switch (comm) {
    case CommScheme::all_to_all: return "ulysses-u" + std::to_string(degree);
    case CommScheme::all_gather: return "megatron-cp-allgather-c" + std::to_string(degree);
    default: return "megatron-cp-c" + std::to_string(degree);
  }
}

class StaticPlanner final : public Planner {
 public:
  StaticPlanner(const PlannerContext& context, int degree, CommScheme comm)
      : context_(context), degree_(degree), comm_(comm) {
    if (auto problem = static_degree_problem(context, degree, comm); !problem.empty()) throw ConfigError(problem);
  }

  std::string name() const override { return label(degree_, comm_); }

  Plan plan(const Batch& batch) override {
    const int replicas = context_.cost.cluster.ranks() / degree_;
    const std::int64_t tokens = batch.total_tokens();
    const std::int64_t longest = *std::max_element(batch.doc_lengths.begin(), batch.doc_lengths.end());
    const std::int64_t group_capacity = context_.capacity_tokens * degree_;
    if (2 * ((longest + 2 * degree_ - 1) / (2 * degree_)) > context_.capacity_tokens)
      throw ConfigError(name() + ": a document of " + std::to_string(longest) + " tokens does not fit a CP group of " +
                        std::to_string(degree_) + " ranks (" + std::to_string(group_capacity) +
                        " tokens); this degree cannot run the batch");
    const std::int64_t machine = group_capacity * replicas;
    for (std::int64_t m = std::max<std::int64_t>(1, (tokens + machine - 1) / machine); m <= tokens; ++m) {
      const std::int64_t capacity = std::max((tokens + replicas * m - 1) / (replicas * m), longest);
      Plan plan = layout(batch, replicas, capacity);
      bool fits = true;
      for (std::size_t mb = 0; mb < plan.micro_batches.size() && fits; ++mb)
        for (auto t : tokens_per_rank(plan, mb, context_.cost.cluster.ranks())) fits = fits && t <= context_.capacity_tokens;
      if (fits) return plan;
    }
    throw ConfigError(name() + ": the batch does not fit at any micro-batch count");
  }

 private:
  Plan layout(const Batch& batch, int replicas, std::int64_t capacity) const {
    Plan plan;
    plan.strategy = name();
    plan.batch = batch;
    std::vector<std::vector<std::int32_t>> sequences(1);
    std::int64_t used = 0;
    for (std::size_t d = 0; d < batch.doc_lengths.size(); ++d) {
      if (used + batch.doc_lengths[d] > capacity && !sequences.back().empty()) {
        sequences.emplace_back();
        used = 0;
      }
      sequences.back().push_back(static_cast<std::int32_t>(d));
      used += batch.doc_lengths[d];
    }
    const std::size_t micro_batches = (sequences.size() + replicas - 1) / replicas;
    for (std::size_t mb = 0; mb < micro_batches; ++mb) {
      MicroBatch micro;
      for (int replica = 0; replica < replicas; ++replica) {
        const std::size_t s = mb * static_cast<std::size_t>(replicas) + static_cast<std::size_t>(replica);
        if (s >= sequences.size()) break;
        CpGroup group;
        group.comm = comm_;
        for (int i = 0; i < degree_; ++i) group.ranks.push_back(replica * degree_ + i);
        for (auto doc : sequences[s]) group.docs.push_back({doc, Sharding::split, 0});
        micro.groups.push_back(std::move(group));
      }
      plan.micro_batches.push_back(std::move(micro));
    }
    plan.rank_sets_used = degree_ > 1 ? replicas : 0;
    return plan;
  }

  PlannerContext context_;
  int degree_;
  CommScheme comm_;
};
}  // namespace

std::string static_degree_problem(const PlannerContext& context, int degree, CommScheme comm) {
  const int ranks = context.cost.cluster.ranks();
  if (degree < 1 || ranks % degree != 0)
    return label(degree, comm) + ": degree " + std::to_string(degree) + " must divide the " + std::to_string(ranks) + " ranks";
  if (comm == CommScheme::all_to_all) {
    const auto& m = context.cost.model;
    if (m.q_heads % degree != 0)
      return label(degree, comm) + ": Ulysses splits heads, so its degree must divide H_q = " + std::to_string(m.q_heads);
    if (degree % m.kv_heads != 0 && m.kv_heads % degree != 0)
      return label(degree, comm) + ": degree must divide H_kv = " + std::to_string(m.kv_heads) +
             " or be a multiple of it (KV heads replicated)";
  }
  return "";
}

std::unique_ptr<Planner> make_static_planner(const PlannerContext& context, int degree, CommScheme comm) {
  return std::make_unique<StaticPlanner>(context, degree, comm);
}

}  // namespace flexcp::sched
