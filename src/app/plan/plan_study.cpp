#include "app/plan/plan_study.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>

#include "app/run/run_setup.hpp"
#include "app/strategies.hpp"
#include "common/clock.hpp"
#include "sched/batch_sampler.hpp"
#include "sched/communicator_accounting.hpp"
#include "sched/flexsp_planner.hpp"
#include "sched/optimal_planner.hpp"
#include "sched/plan_bound.hpp"
#include "sched/static_layout.hpp"

namespace flexcp {

double ModeledSeries::total_step_s() const {
  double sum = 0.0;
  for (const auto& b : batches) sum += b.step_s;
  return sum;
}

std::vector<double> ModeledSeries::step_times() const {
  std::vector<double> out;
  for (const auto& b : batches) out.push_back(b.step_s);
  return out;
}

const ModeledSeries* PlanStudy::find(const std::string& name) const {
  for (const auto& s : series)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

bool wanted(const Config& c, const std::string& name) {
  return std::find(c.plan.strategies.begin(), c.plan.strategies.end(), name) != c.plan.strategies.end();
}

// One strategy being modelled: its planner, its communicators, its results.
struct Entry {
  std::unique_ptr<sched::Planner> planner;
  sched::CommunicatorAccounting communicators;
  ModeledSeries series;
  std::optional<sched::StaticLayout> layout;  // static configurations
  const StrategyInfo* row = nullptr;          // ... and the strategy (family) they belong to
  bool may_be_unable = false;  // a batch it cannot plan is a result (+inf), not an input error
  bool cannot_run = false;     // a static configuration that could not run some batch: not eligible
};

// Static configurations that cannot hold a batch's longest document are recorded as infeasible
// (an infinite step time) and never chosen; after the first such batch they are not planned
// again (NaN). A flexible planner that cannot place a document is an input error, except FlexSP, whose
// groups cannot split heads further than the model has (its step time is then infinite too).
ModeledBatch measure(Entry& e, const sched::Batch& batch, const sched::CostContext& cost) {
  ModeledBatch out;
  out.tokens = static_cast<double>(batch.total_tokens());
  out.step_s = std::numeric_limits<double>::infinity();
  if (e.cannot_run) {  // not planned: the configuration is out of the running already
    out.step_s = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const WallTimer timer;
  sched::Plan plan;
  try {
    plan = e.planner->plan(batch);
  } catch (const ConfigError&) {
    if (!e.may_be_unable) throw;
    e.cannot_run = e.layout.has_value();
    return out;
  }
  out.planning_s = timer.seconds();
  const auto solver = e.planner->last_solver_report();
  out.solver_ran = solver.ran;
  out.solver_kept = solver.kept;
  out.solver_optimal = solver.ran && solver.status == sched::MilpStatus::optimal;
  out.solver_bound_s = solver.bound_s;
  const auto charge = e.communicators.charge(plan);
  out.communicator_s = charge.rounds * cost.hardware.communicator_create_s;
  out.communicators_created = charge.created;
  const auto evaluated = sched::evaluate_plan(plan, cost);
  out.step_s = evaluated.step_time_s + out.communicator_s;
  out.tflops_per_rank = evaluated.model_flops / out.step_s / cost.cluster.ranks() * 1e-12;
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

// Rank sets a static layout's groups need, created once at start-up.
std::vector<sched::RankSet> static_rank_sets(const sched::PlannerContext& context, const sched::StaticLayout& layout) {
  std::vector<sched::RankSet> sets;
  const int ranks = context.cost.cluster.ranks();
  for (int first = 0; first + layout.degree <= ranks; first += layout.degree) {
    sched::CpGroup group{{}, {}, layout.comm, layout.inner, 1};
    for (int i = 0; i < layout.degree; ++i) group.ranks.push_back(first + i);
    for (auto& set : sched::communicator_sets(group)) sets.push_back(std::move(set));
  }
  return sets;
}

// The static configurations of a strategy row: every one its family allows here (Megatron-LM
// rows: of the row's comm type), narrowed by plan.megatron_degrees and plan.ulysses_degree.
std::vector<sched::StaticLayout> layouts_of(const StrategyInfo& row, const Config& c, const sched::PlannerContext& context) {
  using sched::StaticFamily;
  const int ranks = c.cluster.ranks();
  std::vector<sched::StaticLayout> out;
  if (row.family == StaticFamily::ulysses && c.plan.ulysses_degree > 0) {
    const sched::StaticLayout fixed{StaticFamily::ulysses, row.scheme, c.plan.ulysses_degree, 1};
    if (auto problem = sched::layout_problem(context, fixed); !problem.empty()) throw ConfigError("plan.ulysses_degree: " + problem);
    return {fixed};
  }
  if (row.family == StaticFamily::megatron)
    for (int d : c.plan.megatron_degrees)
      if (ranks % d != 0)
        throw ConfigError("plan.megatron_degrees: megatron-cp degree " + std::to_string(d) + " must divide the " +
                          std::to_string(ranks) + " ranks");
  for (const auto& layout : sched::candidate_layouts(context, row.family, c.plan.megatron_degrees))
    if (row.family != StaticFamily::megatron || layout.comm == row.scheme) out.push_back(layout);
  return out;
}

// The configuration a user would pick for a whole run: the highest throughput over the stream
// (least total step time) among those that can run every batch; the first when none can.
template <class Member>
const ModeledSeries* best_of(const std::vector<Entry>& entries, Member member) {
  auto total = [](const ModeledSeries& s) {
    const double t = s.total_step_s();
    return std::isfinite(t) ? t : std::numeric_limits<double>::infinity();
  };
  const ModeledSeries* best = nullptr;
  for (const auto& e : entries) {
    if (!e.layout || !member(e)) continue;
    if (best == nullptr || total(e.series) < total(*best)) best = &e.series;
  }
  return best;
}
}  // namespace

PlanStudy run_plan_study(const Config& c, Progress* progress) {
  PlanStudy study;
  study.cluster = c.cluster;
  const sched::CostContext cost{c.cluster, c.model.shape, c.hardware};
  const int ranks = c.cluster.ranks();
  study.capacity_tokens = sched::capacity_tokens(c.model.shape, c.hardware, ranks);
  const auto cache = static_cast<std::size_t>(c.run.comm_cache_size);

  std::vector<Entry> entries;
  // Each strategy's memory holds the communicators it may keep; what is left holds tokens.
  auto add = [&](auto make, sched::CommunicatorAccounting communicators, bool creates_at_run_time, std::string name,
                 std::string description, std::optional<sched::StaticLayout> layout, const StrategyInfo* row,
                 bool may_be_unable) {
    sched::PlannerContext context{cost, 0, true};
    context.comm_cache_size = cache;
    context.capacity_tokens = sched::capacity_tokens(
        c.model.shape, c.hardware, ranks,
        static_cast<double>(communicators.held_per_rank(creates_at_run_time)) * c.hardware.communicator_memory_bytes);
    ModeledSeries series{std::move(name), std::move(description), layout ? layout->degree : 0, context.capacity_tokens, {}};
    entries.push_back({make(context), std::move(communicators), std::move(series), layout, row, may_be_unable, false});
  };
  const sched::PlannerContext base{cost, study.capacity_tokens, true};
  if (wanted(c, "flexcp")) {
    const auto& row = *find_strategy("flexcp");
    // flexcp makes its node blocks at start-up, and other group communicators at run time when a
    // group's best scheme is a collective.
    add([](const sched::PlannerContext& ctx) { return sched::make_flexcp_planner(ctx); },
        {sched::rank_sets_of(standing_communicators(row, base)), cache}, true, row.name, row.summary, std::nullopt,
        &row, false);
  }
  if (wanted(c, "optimal")) {
    const auto& row = *find_strategy("optimal");
    sched::OptimalOptions options;
    options.limits = {c.plan.optimal_time_limit_s, -1};
    add([&](const sched::PlannerContext& ctx) { return sched::make_optimal_planner(ctx, options); },
        {sched::rank_sets_of(standing_communicators(row, base)), cache}, true,
        row.name, row.summary, std::nullopt, &row, true);  // too large a batch: recorded, not an error
  }
  if (wanted(c, "flexsp")) {
    const auto& row = *find_strategy("flexsp");
    sched::FlexspOptions options;
    options.limits = {c.plan.flexsp_time_limit_s, -1};
    add([&](const sched::PlannerContext& ctx) { return sched::make_flexsp_planner(ctx, options); },
        {sched::rank_sets_of(standing_communicators(row, base)), cache}, true, row.name,
        row.summary + " (" + seconds_text(c.plan.flexsp_time_limit_s) + " s limit)", std::nullopt, &row, true);
  }
  // Static rows: every configuration of every Megatron-LM row is modelled, listed or not (the
  // best of them is the baseline); Ulysses and USP when listed.
  const std::size_t first_static = entries.size();
  for (const auto& row : strategy_table()) {
    if (!row.plans || row.planner != PlannerKind::static_degree) continue;
    if (row.family != sched::StaticFamily::megatron && !wanted(c, row.name)) continue;
    for (const auto& layout : layouts_of(row, c, base))
      add([&](const sched::PlannerContext& ctx) { return sched::make_static_planner(ctx, layout); },
          {static_rank_sets(base, layout), 0}, false, layout.name(), layout.description(ranks), layout, &row, true);
  }

  ModeledSeries bound{"bound",
                      "lower bound: the batch's work balanced over every rank, and its slowest document on its best "
                      "group with the communication that group cannot avoid (sched/plan_bound.hpp)",
                      0,
                      study.capacity_tokens, {}};
  sched::BatchSampler sampler(c.batch.uses_dataset() ? c.batch.samples : c.batch.lengths, c.batch.tokens_per_batch,
                              c.batch.seed);
  if (progress != nullptr)
    progress->note("planning " + std::to_string(c.plan.batches) + " batches with " + std::to_string(entries.size()) +
                   " strategy configurations on " + std::to_string(ranks) + " ranks");
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
      e.series.batches.push_back(measure(e, batch, cost));
      e.series.batches.back().extreme = extreme;
    }
    ModeledBatch b;
    b.step_s = sched::lower_bound_with_communication_s(batch, cost, study.capacity_tokens);
    b.tokens = static_cast<double>(batch.total_tokens());
    b.extreme = extreme;
    sched::Plan whole{"bound", batch, {}, 0, 0};
    b.tflops_per_rank = sched::evaluate_plan(whole, cost).model_flops / b.step_s / ranks * 1e-12;
    bound.batches.push_back(b);
    if (progress != nullptr)
      progress->step_done("plan, every configuration:", k, c.plan.batches, false, batch.total_tokens(),
                          std::to_string(batch.doc_lengths.size()) + " documents" + (extreme ? ", extreme" : ""));
  }

  // Each static row's best configuration on the stream, under the row's name, the configuration
  // named; the best Megatron-LM configuration of all is the baseline.
  std::vector<ModeledSeries> families;
  for (const auto& row : strategy_table()) {
    if (row.planner != PlannerKind::static_degree || !wanted(c, row.name)) continue;
    const auto* best = best_of(entries, [&](const Entry& e) { return e.row == &row; });
    if (best == nullptr) continue;
    ModeledSeries s = *best;
    s.name = row.name;
    s.description = "best on this stream: " + best->name + ": " + best->description;
    families.push_back(std::move(s));
  }
  if (const auto* best = best_of(entries, [](const Entry& e) { return e.layout->family == sched::StaticFamily::megatron; }))
    study.baseline = best->name;

  for (std::size_t i = 0; i < first_static; ++i) study.series.push_back(std::move(entries[i].series));
  for (auto& s : families) study.series.push_back(std::move(s));
  if (wanted(c, "bound")) study.series.push_back(std::move(bound));
  for (std::size_t i = first_static; i < entries.size(); ++i) study.series.push_back(std::move(entries[i].series));
  return study;
}

}  // namespace flexcp

namespace flexcp {

MemoryBudget plan_memory_budget(const Config& c) {
  // Measured on the development machine: about 1 KiB per simulated rank (16,384 ranks: 39 MiB
  // resident); documents are held by the batch, every planner's plan and the cost model's
  // per-document terms. Both bounds are generous: only what clearly cannot fit is refused.
  constexpr double kBytesPerRank = 4096.0, kBytesPerDocument = 1024.0;
  const auto& b = c.batch;
  const double documents = documents_per_batch(c);
  const auto key = batch_size_key(c);
  MemoryBudget budget{"flexcp plan", {}};
  budget.shares.push_back({"a batch and its plans (about " + std::to_string(static_cast<long long>(documents)) + " documents)",
                           key, documents * kBytesPerDocument});
  budget.shares.push_back({"per-rank state of the planners and the cost model (" + std::to_string(c.cluster.ranks()) +
                               " ranks)",
                           "cluster.nodes = " + std::to_string(c.cluster.nodes) + " x cluster.ranks_per_node = " +
                               std::to_string(c.cluster.ranks_per_node),
                           static_cast<double>(c.cluster.ranks()) * kBytesPerRank});
  budget.shares.push_back({"the dataset's samples", "batch.dataset", 8.0 * static_cast<double>(b.samples.size())});
  return budget;
}

}  // namespace flexcp
