#include "app/plan/plan_study.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include "app/strategies.hpp"
#include "common/clock.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp {

double ModeledSeries::mean_step_s() const {
  double sum = 0.0;
  for (const auto& b : batches) sum += b.step_s;
  return batches.empty() ? 0.0 : sum / static_cast<double>(batches.size());
}

const ModeledSeries* PlanStudy::find(const std::string& name) const {
  for (const auto& s : series)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

bool wanted(const Config& c, const std::string& name) {
  return std::find(c.plan.strategies.begin(), c.plan.strategies.end(), name) != c.plan.strategies.end();
}

// Static degrees that cannot hold a batch's longest document are recorded as infeasible (an
// infinite step time) and never chosen as the baseline; a flexible planner that cannot place a
// document is an input error.
ModeledBatch measure(sched::Planner& planner, const sched::Batch& batch, const sched::CostContext& cost,
                     bool infeasible_allowed) {
  const WallTimer timer;
  ModeledBatch out;
  sched::Plan plan;
  try {
    plan = planner.plan(batch);
  } catch (const ConfigError&) {
    if (!infeasible_allowed) throw;
    out.step_s = std::numeric_limits<double>::infinity();
    out.tokens = static_cast<double>(batch.total_tokens());
    return out;
  }
  out.planning_s = timer.seconds();
  const auto evaluated = sched::evaluate_plan(plan, cost);
  out.step_s = evaluated.step_time_s;
  out.tokens = static_cast<double>(batch.total_tokens());
  out.tflops_per_rank = evaluated.model_flops / evaluated.step_time_s / cost.cluster.ranks() * 1e-12;
  out.busy_imbalance = evaluated.busy_imbalance;
  out.bytes_sent = evaluated.bytes_sent;
  out.new_rank_sets = plan.new_rank_sets;
  out.rank_sets = plan.rank_sets_used;
  out.micro_batches = static_cast<long long>(plan.micro_batches.size());
  for (const auto& mb : plan.micro_batches) {
    out.groups += static_cast<long long>(mb.groups.size());
    for (const auto& g : mb.groups)
      for (const auto& d : g.docs) out.split_documents += d.sharding == sched::Sharding::split ? 1 : 0;
  }
  return out;
}

std::vector<int> powers_of_two_dividing(int ranks) {
  std::vector<int> out;
  for (int c = 1; c <= ranks; c *= 2)
    if (ranks % c == 0) out.push_back(c);
  return out;
}

int default_ulysses_degree(const Config& c) {
  int best = 1;
  for (int u = 1; u <= std::min(c.cluster.ranks_per_node, c.cluster.ranks()); u *= 2) {
    sched::PlannerContext context{{c.cluster, c.model.shape, c.hardware}, 1};
    if (sched::static_degree_problem(context, u, sched::CommScheme::all_to_all).empty()) best = u;
  }
  return best;
}
}  // namespace

PlanStudy run_plan_study(const Config& c) {
  PlanStudy study;
  study.cluster = c.cluster;
  const sched::CostContext cost{c.cluster, c.model.shape, c.hardware};
  study.capacity_tokens = sched::capacity_tokens(c.model.shape, c.hardware, c.cluster.ranks());
  const sched::PlannerContext context{cost, study.capacity_tokens};

  struct Entry {
    std::unique_ptr<sched::Planner> planner;
    ModeledSeries series;
  };
  std::vector<Entry> entries;
  auto add = [&](std::unique_ptr<sched::Planner> planner, std::string name, std::string description, int degree) {
    entries.push_back({std::move(planner), {std::move(name), std::move(description), degree, {}}});
  };
  const auto& ring = *find_strategy("megatron-cp-ring");
  const auto& allgather = *find_strategy("megatron-cp-allgather");
  for (const char* name : {"flexcp", "flexsp"})
    if (wanted(c, name)) {
      const auto& row = *find_strategy(name);
      add(make_planner(row, context, 0), row.name, row.summary, 0);
    }
  if (wanted(c, "ulysses")) {
    const auto& row = *find_strategy("ulysses");
    const int u = c.plan.ulysses_degree > 0 ? c.plan.ulysses_degree : default_ulysses_degree(c);
    if (auto problem = sched::static_degree_problem(context, u, row.scheme); !problem.empty())
      throw ConfigError("plan.ulysses_degree: " + problem);
    add(make_planner(row, context, u), row.name, row.summary + ", degree " + std::to_string(u), u);
  }
  // Every ring degree is modelled (the best one is the baseline), whether listed or not.
  auto degrees = c.plan.megatron_degrees.empty() ? powers_of_two_dividing(c.cluster.ranks()) : c.plan.megatron_degrees;
  for (int d : degrees)
    if (auto problem = sched::static_degree_problem(context, d, ring.scheme); !problem.empty())
      throw ConfigError("plan.megatron_degrees: " + problem);
  auto degree_text = [&](int d) {
    return ", degree " + std::to_string(d) + ", DP " + std::to_string(c.cluster.ranks() / d);
  };
  const std::size_t first_megatron = entries.size();
  for (int d : degrees)
    add(make_planner(ring, context, d), ring.name + "-c" + std::to_string(d), ring.summary + degree_text(d), d);
  const std::size_t first_allgather = entries.size();
  if (wanted(c, allgather.name))
    for (int d : degrees)
      add(make_planner(allgather, context, d), allgather.name + "-c" + std::to_string(d), allgather.summary + degree_text(d), d);

  ModeledSeries bound{"bound", find_strategy("bound")->summary, 0, {}};
  sched::BatchSampler sampler(c.batch.uses_dataset() ? c.batch.samples : c.batch.lengths, c.batch.tokens_per_batch,
                              c.batch.seed);
  for (std::int64_t k = 0; k < c.plan.batches; ++k) {
    const auto index = static_cast<std::uint64_t>(k);
    // Batch k is extreme when a hash of (seed, k) falls below the extreme fraction: a fixed,
    // reproducible mix of typical and extreme batches in one stream.
    const double draw = static_cast<double>(sched::splitmix64(c.batch.seed ^ (0xe5ULL << 40) ^ index) >> 11) * 0x1.0p-53;
    const bool extreme = c.batch.uses_dataset() && draw < c.plan.extreme_fraction;
    const sched::Batch batch = !c.batch.uses_dataset() ? sched::Batch{c.batch.lengths}
                               : extreme               ? sampler.extreme_batch(index)
                                                       : sampler.batch(index);
    for (auto& e : entries) {
      e.series.batches.push_back(measure(*e.planner, batch, cost, e.series.degree > 0));
      e.series.batches.back().extreme = extreme;
    }
    ModeledBatch b;
    b.step_s = sched::lower_bound_step_s(batch, cost, study.capacity_tokens);
    b.tokens = static_cast<double>(batch.total_tokens());
    b.extreme = extreme;
    sched::Plan whole{"bound", batch, {}, 0, 0};
    b.tflops_per_rank = sched::evaluate_plan(whole, cost).model_flops / b.step_s / c.cluster.ranks() * 1e-12;
    bound.batches.push_back(b);
  }

  // The baseline a user would pick: the ring degree with the lowest mean step time.
  auto best_of = [&](std::size_t begin, std::size_t end) {
    std::size_t best = begin;
    for (std::size_t i = begin; i < end; ++i)
      if (entries[i].series.mean_step_s() < entries[best].series.mean_step_s()) best = i;
    return best;
  };
  const auto best_ring = best_of(first_megatron, first_allgather);
  study.baseline = entries[best_ring].series.name;
  ModeledSeries megatron = entries[best_ring].series;
  megatron.name = ring.name;
  megatron.description = "best ring degree for this batch stream: " + entries[best_ring].series.description;
  std::vector<ModeledSeries> extra;
  if (wanted(c, allgather.name) && first_allgather < entries.size()) {
    ModeledSeries ag = entries[best_of(first_allgather, entries.size())].series;
    ag.description = "best all-gather degree: " + ag.description;
    ag.name = allgather.name;
    extra.push_back(std::move(ag));
  }
  for (std::size_t i = 0; i < first_megatron; ++i) study.series.push_back(std::move(entries[i].series));
  study.series.push_back(std::move(megatron));
  for (auto& s : extra) study.series.push_back(std::move(s));
  if (wanted(c, "bound")) study.series.push_back(std::move(bound));
  for (std::size_t i = first_megatron; i < entries.size(); ++i) study.series.push_back(std::move(entries[i].series));
  return study;
}

}  // namespace flexcp
