#include "app/output/strategy_series.hpp"

#include <cmath>

#include "app/output/h5_helpers.hpp"
#include "app/output/phase_comparison.hpp"

namespace flexcp {
namespace {
std::vector<double> per_rank(const StepRecord& s, double RankStepMetrics::*field) {
  std::vector<double> v;
  for (const auto& r : s.ranks) v.push_back(r.*field);
  return v;
}
// Bytes and tokens are counts: stored as integers (they were doubles in schema 1).
std::vector<long long> counts(const std::vector<double>& values) {
  std::vector<long long> v;
  for (double x : values) v.push_back(std::llround(x));
  return v;
}
}  // namespace

StrategySeries::StrategySeries(hid_t runs, const StrategyResult& result, hid_t rank_scale, int nranks)
    : group_(h5::create_group(runs, result.name)), rank_scale_(rank_scale), nranks_(static_cast<hsize_t>(nranks)) {
  h5::string_attribute(group_.get(), "description", result.description);
  add_per_step(group_.get());
  add_phases();
  add_plan();
  check_ = h5::create_group(group_.get(), "check");
  write_summary(result, StrategySummary{});
}

void StrategySeries::add(hid_t group, const char* name, bool per_rank, const char* units, const char* description,
                         std::function<std::vector<double>(const StepRecord&)> values) {
  h5::Series series(group, name, H5T_NATIVE_DOUBLE, per_rank ? nranks_ : 0, units, description);
  attach(series, per_rank);
  columns_.push_back({std::move(series), [values](const StepRecord& s, h5::Series& out) { out.append(values(s)); }});
}

void StrategySeries::add_counts(hid_t group, const char* name, bool per_rank, const char* units,
                                const char* description, std::function<std::vector<long long>(const StepRecord&)> values) {
  h5::Series series(group, name, H5T_NATIVE_LLONG, per_rank ? nranks_ : 0, units, description);
  attach(series, per_rank);
  columns_.push_back({std::move(series), [values](const StepRecord& s, h5::Series& out) { out.append(values(s)); }});
}

void StrategySeries::attach(const h5::Series& series, bool per_rank) {
  if (columns_.empty()) {
    h5::make_scale(series.get(), "step");  // the first series is `step`: the step axis of the others
    return;
  }
  h5::attach_scale(series.get(), columns_.front().series.get(), 0);
  if (per_rank) h5::attach_scale(series.get(), rank_scale_, 1);
}

void StrategySeries::add_per_step(hid_t g) {
  add_counts(g, "step", false, "1", "step index in the batch stream (warm-up steps excluded)",
             [](const StepRecord& s) { return std::vector<long long>{s.step}; });
  add_counts(g, "tokens", false, "tokens", "tokens in the batch", [](const StepRecord& s) { return std::vector<long long>{s.tokens}; });
  add_counts(g, "documents", false, "documents", "documents in the batch",
             [](const StepRecord& s) { return std::vector<long long>{s.documents}; });
  add_counts(g, "longest_document", false, "tokens", "longest document of the batch",
             [](const StepRecord& s) { return std::vector<long long>{s.longest_document}; });
  add(g, "step_time_s", false, "s", "step wall time: max over ranks", [](const StepRecord& s) { return std::vector{s.step_time()}; });
  add(g, "tokens_per_s", false, "tokens/s", "batch tokens / step_time_s",
      [](const StepRecord& s) { return std::vector{double(s.tokens) / s.step_time()}; });
  add(g, "attn_flops", false, "FLOP", "attention forward + backward FLOPs from the exact mask area, all ranks",
      [](const StepRecord& s) { return std::vector{s.total_flops()}; });
  add(g, "attn_flops_per_s", false, "FLOP/s", "achieved attention FLOP rate: attn_flops / step_time_s",
      [](const StepRecord& s) { return std::vector{s.total_flops() / s.step_time()}; });
  add(g, "busy_imbalance", false, "1", "max / mean over ranks of busy_s",
      [](const StepRecord& s) { return std::vector{s.busy_imbalance()}; });
  struct PerRank {
    const char* name;
    double RankStepMetrics::*field;
    const char* units;
    const char* description;
  };
  const PerRank times[] = {
      {"plan_s", &RankStepMetrics::plan_s, "s", "wall time planning and compiling the rank's program"},
      {"comm_wait_s", &RankStepMetrics::comm_wait_s, "s", "wall time blocked on communication"},
      {"compute_s", &RankStepMetrics::compute_s, "s", "wall time inside attention kernels"},
      {"busy_s", &RankStepMetrics::busy_s, "s", "thread CPU time inside attention kernels"},
      {"rank_step_s", &RankStepMetrics::step_s, "s", "wall time of the step on each rank"},
      {"rank_attn_flops", &RankStepMetrics::attn_flops, "FLOP", "attention FLOPs of each rank"},
      {"comm_create_s", &RankStepMetrics::comm_create_s, "s", "wall time creating group communicators (cache misses)"}};
  for (const auto& [name, field, units, description] : times)
    add(g, name, true, units, description, [field](const StepRecord& s) { return per_rank(s, field); });
  add_counts(g, "kv_bytes_sent", true, "bytes", "bytes sent by each rank: KV forward and backward, dK/dV",
             [](const StepRecord& s) { return counts(per_rank(s, &RankStepMetrics::kv_bytes_sent)); });
  add_counts(g, "rank_tokens", true, "tokens", "tokens whose queries each rank owns",
             [](const StepRecord& s) { return counts(per_rank(s, &RankStepMetrics::tokens)); });
  add(g, "modelled_step_time_s", false, "s",
      "cost model's step time for the same plan (attention only, one layer, the input's hardware profile), "
      "communicator creation included",
      [](const StepRecord& s) { return std::vector{s.modelled.step_s}; });
  add(g, "modelled_comm_create_s", false, "s",
      "cost model's time creating the group communicators the cache lacks (part of modelled_step_time_s)",
      [](const StepRecord& s) { return std::vector{s.modelled.comm_create_s}; });
  add(g, "modelled_busy_s", true, "s", "cost model's compute time of each rank",
      [](const StepRecord& s) { return s.modelled.busy_s; });
  add(g, "modelled_exposed_comm_s", true, "s", "cost model's communication time not hidden behind compute, each rank",
      [](const StepRecord& s) { return s.modelled.exposed_comm_s; });
  add_counts(g, "modelled_bytes_sent", true, "bytes",
             "cost model's bytes sent by each rank (equal to kv_bytes_sent by construction; tested)",
             [](const StepRecord& s) { return counts(s.modelled.bytes_sent); });
}

void StrategySeries::add_phases() {
  phases_ = h5::create_group(group_.get(), "phases");
  struct Phase {
    const char* name;
    double PhaseTimes::*field;
    const char* what;
  };
  const Phase phases[] = {
      {"compute", &PhaseTimes::compute_s, "the busiest rank's attention compute"},
      {"exposed_comm", &PhaseTimes::exposed_comm_s, "step less the busiest rank's compute: communication not hidden"},
      {"step", &PhaseTimes::step_s, "step time without planning"}};
  for (const auto& [name, field, what] : phases) {
    const std::string n = name;
    add(phases_.get(), ("measured_" + n + "_s").c_str(), false, "s", ("measured: " + std::string(what)).c_str(),
        [field](const StepRecord& s) { return std::vector{measured_phases(s).*field}; });
    add(phases_.get(), ("modelled_" + n + "_s").c_str(), false, "s", ("cost model, same plan: " + std::string(what)).c_str(),
        [field](const StepRecord& s) { return std::vector{modelled_phases(s).*field}; });
    add(phases_.get(), (n + "_ratio").c_str(), false, "1", "measured / modelled (0 where the model says 0)",
        [field](const StepRecord& s) { return std::vector{phase_ratio(measured_phases(s).*field, modelled_phases(s).*field)}; });
  }
}

void StrategySeries::add_plan() {
  plan_ = h5::create_group(group_.get(), "plan");
  auto plan_count = [&](const char* name, std::int64_t PlanSummary::*field, const char* units, const char* description) {
    add_counts(plan_.get(), name, false, units, description,
               [field](const StepRecord& s) { return std::vector<long long>{s.plan.*field}; });
  };
  plan_count("micro_batches", &PlanSummary::micro_batches, "1", "micro-batches of the plan");
  plan_count("groups", &PlanSummary::groups, "1", "CP groups, all micro-batches");
  plan_count("split_documents", &PlanSummary::split_documents, "documents", "documents split zigzag over their group");
  plan_count("whole_documents", &PlanSummary::whole_documents, "documents", "documents kept whole on one rank");
  plan_count("new_rank_sets", &PlanSummary::new_rank_sets, "1",
             "groups of >= 2 ranks whose rank set was not used in recent batches");
  group_lists_.emplace_back(plan_.get(), "group_sizes", H5T_NATIVE_LLONG, 0, "ranks",
                            "size of every group, step after step; step i's are [group_offsets[i], group_offsets[i+1])");
  group_lists_.emplace_back(plan_.get(), "group_offsets", H5T_NATIVE_LLONG, 0, "1",
                            "where each step's groups start in group_sizes");
  group_lists_.back().append(std::vector<long long>{0});
  cache_ = h5::create_group(group_.get(), "comm_cache");
  auto cache_count = [&](const char* name, std::int64_t CacheCounts::*field, const char* description) {
    add_counts(cache_.get(), name, false, "1", description,
               [field](const StepRecord& s) { return std::vector<long long>{s.cache.*field}; });
  };
  cache_count("hits", &CacheCounts::hits, "group communicators found cached");
  cache_count("misses", &CacheCounts::misses, "group communicators created");
  cache_count("evictions", &CacheCounts::evictions, "group communicators freed to stay within run.comm_cache_size");
  cache_count("live", &CacheCounts::live, "group communicators cached after the step");
}

void StrategySeries::append(const StepRecord& step) {
  for (auto& c : columns_) c.append(step, c.series);
  auto& sizes = group_lists_[0];
  sizes.append(std::vector<long long>(step.plan.group_sizes.begin(), step.plan.group_sizes.end()));
  group_lists_[1].append(std::vector<long long>{static_cast<long long>(sizes.rows())});
  ++rows_;
}

void StrategySeries::write_summary(const StrategyResult& result, const StrategySummary& summary) {
  // The headline: throughput over the run vs the baseline (steps both ran), measured and modelled.
  h5::double_attribute(group_.get(), "throughput_ratio", summary.speedup);
  h5::double_attribute(group_.get(), "modelled_throughput_ratio", summary.modelled_speedup);
  const auto mean = summarize_phases(result).ratio();
  h5::double_attribute(phases_.get(), "mean_compute_ratio", mean.compute_s);
  h5::double_attribute(phases_.get(), "mean_exposed_comm_ratio", mean.exposed_comm_s);
  h5::double_attribute(phases_.get(), "mean_step_ratio", mean.step_s);
  const auto& c = result.check;
  h5::int_attribute(check_.get(), "ran", c.ran);
  h5::int_attribute(check_.get(), "passed", c.passed);
  h5::int_attribute(check_.get(), "step", c.step);
  h5::double_attribute(check_.get(), "tolerance", c.tolerance);
  h5::double_attribute(check_.get(), "error_out", c.error_out);
  h5::double_attribute(check_.get(), "error_dq", c.error_dq);
  h5::double_attribute(check_.get(), "error_dk", c.error_dk);
  h5::double_attribute(check_.get(), "error_dv", c.error_dv);
  h5::double_attribute(check_.get(), "worst_document_error", c.worst_document_error);
  h5::int_attribute(check_.get(), "worst_document", c.worst_document);
  h5::int_attribute(check_.get(), "worst_document_tokens", c.worst_document_tokens);
  h5::string_attribute(check_.get(), "worst_tensor", c.worst_tensor);
}

}  // namespace flexcp
