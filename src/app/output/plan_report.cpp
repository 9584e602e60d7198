#include "app/output/plan_report.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "app/output/h5_helpers.hpp"
#include "app/strategies.hpp"
#include "sched/throughput.hpp"

namespace flexcp {
namespace {
template <class Get>
std::vector<double> column(const ModeledSeries& s, Get get) {
  std::vector<double> v;
  for (const auto& b : s.batches) v.push_back(static_cast<double>(get(b)));
  return v;
}
double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}
double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }
long count_if_true(const ModeledSeries& s, bool ModeledBatch::*flag) {
  return static_cast<long>(std::count_if(s.batches.begin(), s.batches.end(), [&](const ModeledBatch& b) { return b.*flag; }));
}
// A static configuration's series ("megatron-cp-ring-c8", "ulysses-u8", "usp-u8-r4"), not a
// strategy of the table: no summary line of its own.
bool is_configuration(const std::string& name) { return find_strategy(name) == nullptr; }
}  // namespace

std::vector<double> batch_ratios(const PlanStudy& study, const ModeledSeries& series) {
  const auto* base = study.find(study.baseline);
  return base ? sched::per_batch_ratios(base->step_times(), series.step_times()) : std::vector<double>{};
}

double headline_ratio(const PlanStudy& study, const ModeledSeries& series, const std::vector<bool>& include) {
  const auto* base = study.find(study.baseline);
  return base ? sched::throughput_ratio(base->step_times(), series.step_times(), include) : std::nan("");
}

// flexcp's greedy against the MILP reference, batch by batch: step time ratio (> 1: the
// reference's plan is faster), and whether CBC proved its objective optimal.
static void print_optimality_gap(std::FILE* out, const PlanStudy& study) {
  const auto* greedy = study.find("flexcp");
  const auto* optimal = study.find("optimal");
  if (greedy == nullptr || optimal == nullptr) return;
  std::vector<double> gap;
  long proven = 0, better = 0;
  for (std::size_t i = 0; i < greedy->batches.size() && i < optimal->batches.size(); ++i) {
    if (!std::isfinite(optimal->batches[i].step_s)) continue;  // too large for the MILP
    gap.push_back(greedy->batches[i].step_s / optimal->batches[i].step_s);
    proven += optimal->batches[i].solver_optimal ? 1 : 0;
    better += gap.back() > 1.0 + 1e-9 ? 1 : 0;  // the MILP's plan strictly faster
  }
  std::fprintf(out,
               "flexcp-plan optimality_gap batches=%zu mean=%.4f max=%.4f milp_plan_better=%ld milp_proven_optimal=%ld "
               "(flexcp step / the reference's: the better of the MILP's plan and the greedy's, full cost model)\n",
               gap.size(), mean(gap), max_of(gap), better, proven);
}

void print_plan_study(std::FILE* out, const PlanStudy& study, const Config& c) {
  const auto& hw = c.hardware;
  std::fprintf(out, "# flexcp plan: modelled, not executed. %d nodes x %d ranks = %d ranks, hardware %s\n",
               study.cluster.nodes, study.cluster.ranks_per_node, study.cluster.ranks(), hw.name.c_str());
  std::fprintf(out, "# model %s (%.2fB parameters, activation checkpointing %s), capacity %lld tokens per rank; %lld %sbatches of %lld tokens\n",
               c.model.shape.name.c_str(), c.model.shape.parameters() * 1e-9, sched::to_string(c.model.shape.checkpointing),
               static_cast<long long>(study.capacity_tokens), static_cast<long long>(c.plan.batches),
               c.plan.extreme_fraction >= 1.0 ? "extreme " : (c.plan.extreme_fraction > 0.0 ? "mixed " : ""),
               static_cast<long long>(c.batch.tokens_per_batch));
  const auto* base = study.find(study.baseline);
  std::fprintf(out, "# baseline: %s, the best Megatron-LM CP configuration (comm type and degree) on this stream\n",
               study.baseline.c_str());
  if (base) std::fprintf(out, "#   %s\n", base->description.c_str());
  std::fprintf(out, "# ratio: throughput over the run vs the baseline (sum of its step times / sum of the strategy's);\n"
                    "# batch-mean: the mean of per-batch ratios, for reference\n");
  std::fprintf(out, "# %-26s %10s %12s %10s %8s %10s %7s %10s %6s %9s %9s\n", "strategy", "step(ms)", "tokens/s", "TFLOPS/GPU",
               "ratio", "batch-mean", "imbal", "GB/step", "comms", "plan(ms)", "max(ms)");
  for (const auto& s : study.series) {
    const auto step = s.step_times();
    const auto cannot = std::count_if(step.begin(), step.end(), [](double t) { return std::isinf(t); });
    const auto skipped = std::count_if(step.begin(), step.end(), [](double t) { return std::isnan(t); });
    if (skipped > 0) {
      const auto first = std::find_if(step.begin(), step.end(), [](double t) { return std::isinf(t); }) - step.begin();
      std::fprintf(out, "  %-26s cannot run batch %ld (a document no group of it can hold), not planned further: not eligible\n",
                   s.name.c_str(), static_cast<long>(first));
      continue;
    }
    if (cannot > 0) {
      std::fprintf(out, "  %-26s cannot run %ld of %zu batches (a document no group of it can hold): not eligible\n",
                   s.name.c_str(), static_cast<long>(cannot), step.size());
      continue;
    }
    const auto tokens = column(s, [](const ModeledBatch& b) { return b.tokens; });
    const auto planning = column(s, [](const ModeledBatch& b) { return b.planning_s; });
    std::fprintf(out, "  %-26s %10.1f %12.0f %10.1f %8.3f %10.3f %7.3f %10.2f %6.1f %9.3f %9.3f\n", s.name.c_str(),
                 1e3 * mean(step), std::accumulate(tokens.begin(), tokens.end(), 0.0) / s.total_step_s(),
                 mean(column(s, [](const ModeledBatch& b) { return b.tflops_per_rank; })), headline_ratio(study, s),
                 mean(batch_ratios(study, s)), mean(column(s, [](const ModeledBatch& b) { return b.busy_imbalance; })),
                 1e-9 * mean(column(s, [](const ModeledBatch& b) { return b.bytes_sent; })),
                 mean(column(s, [](const ModeledBatch& b) { return b.communicators_created; })), 1e3 * mean(planning),
                 1e3 * max_of(planning));
  }
  print_optimality_gap(out, study);
  for (const auto& s : study.series) {
    if (is_configuration(s.name)) continue;
    std::vector<double> over_bound;
    const ModeledSeries* bound = study.find("bound");
    for (std::size_t i = 0; bound && i < s.batches.size(); ++i) over_bound.push_back(s.batches[i].step_s / bound->batches[i].step_s);
    std::vector<bool> extreme, normal;
    for (const auto& b : s.batches) {
      extreme.push_back(b.extreme);
      normal.push_back(!b.extreme);
    }
    const auto step = s.step_times();
    std::fprintf(out,
                 "flexcp-plan strategy=%s ranks=%d nodes=%d batches=%zu extreme_batches=%ld baseline=%s "
                 "throughput_ratio=%.4f normal_throughput_ratio=%.4f extreme_throughput_ratio=%.4f mean_batch_ratio=%.4f "
                 "step_time_s=%.6f median_step_over_bound=%.4f planning_ms_median=%.4f infeasible_batches=%ld "
                 "solver_batches=%ld solver_kept=%ld\n",
                 s.name.c_str(), study.cluster.ranks(), study.cluster.nodes, s.batches.size(), count_if_true(s, &ModeledBatch::extreme),
                 study.baseline.c_str(), headline_ratio(study, s), headline_ratio(study, s, normal),
                 headline_ratio(study, s, extreme), mean(batch_ratios(study, s)), mean(step), median(over_bound),
                 1e3 * median(column(s, [](const ModeledBatch& b) { return b.planning_s; })),
                 static_cast<long>(std::count_if(step.begin(), step.end(), [](double t) { return std::isinf(t); })),
                 count_if_true(s, &ModeledBatch::solver_ran), count_if_true(s, &ModeledBatch::solver_kept));
  }
}

void write_plan_file(const std::string& path, const PlanStudy& study, const RunMetadata& meta, const Config& c) {
  h5::write_atomically(path, [&](hid_t root) {
    write_common_attributes(root, meta, "plan");
    h5::int_attribute(root, "ranks_per_node", study.cluster.ranks_per_node);
    h5::int_attribute(root, "capacity_tokens", study.capacity_tokens);
    h5::string_attribute(root, "hardware", c.hardware.name);
    h5::string_attribute(root, "baseline", study.baseline);
    if (const auto* base = study.find(study.baseline)) h5::string_attribute(root, "baseline_description", base->description);
    h5::string_attribute(root, "headline", "throughput_ratio: sum of the baseline's step times / sum of the strategy's, "
                                           "over the batch stream");
    auto runs = h5::create_group(root, "runs");
    for (const auto& s : study.series) {
      auto g = h5::create_group(runs.get(), s.name);
      h5::string_attribute(g.get(), "description", s.description);
      h5::int_attribute(g.get(), "modelled", 1);
      h5::int_attribute(g.get(), "degree", s.degree);
      h5::int_attribute(g.get(), "capacity_tokens", s.capacity_tokens);
      h5::double_attribute(g.get(), "throughput_ratio", headline_ratio(study, s));
      h5::double_attribute(g.get(), "mean_batch_ratio", mean(batch_ratios(study, s)));
      const std::vector<hsize_t> k{static_cast<hsize_t>(s.batches.size())};
      auto d = [&](const char* name, auto get, const char* units, const char* what) {
        h5::dataset(g.get(), name, column(s, get), k, units, what);
      };
      d("step_time_s", [](const ModeledBatch& b) { return b.step_s; }, "s",
        "modelled step time per batch, communicator creation included (+inf where the strategy cannot run "
        "it; NaN where a static configuration was not planned after a batch it could not run)");
      d("tokens", [](const ModeledBatch& b) { return b.tokens; }, "tokens", "tokens in the batch");
      d("tokens_per_s", [](const ModeledBatch& b) { return b.tokens / b.step_s; }, "tokens/s", "tokens / step_time_s");
      d("tflops_per_gpu", [](const ModeledBatch& b) { return b.tflops_per_rank; }, "TFLOP/s",
        "model training FLOPs (no recomputation) / step time / ranks");
      d("busy_imbalance", [](const ModeledBatch& b) { return b.busy_imbalance; }, "1", "max / mean of modelled busy time");
      d("bytes_sent", [](const ModeledBatch& b) { return b.bytes_sent; }, "bytes", "bytes sent by all ranks per step");
      d("planning_s", [](const ModeledBatch& b) { return b.planning_s; }, "s", "wall time of the planner");
      d("communicator_s", [](const ModeledBatch& b) { return b.communicator_s; }, "s",
        "creating communicators neither made at start-up nor cached (part of step_time_s)");
      d("communicators_created", [](const ModeledBatch& b) { return static_cast<double>(b.communicators_created); }, "1",
        "group communicators created for this batch");
      d("new_rank_sets", [](const ModeledBatch& b) { return static_cast<double>(b.new_rank_sets); }, "1",
        "groups of >= 2 ranks not used by recent batches (flexible planners' history)");
      d("rank_sets", [](const ModeledBatch& b) { return static_cast<double>(b.rank_sets); }, "1", "groups of >= 2 ranks");
      d("micro_batches", [](const ModeledBatch& b) { return static_cast<double>(b.micro_batches); }, "1", "micro-batches");
      d("groups", [](const ModeledBatch& b) { return static_cast<double>(b.groups); }, "1", "CP groups over all micro-batches");
      d("extreme", [](const ModeledBatch& b) { return b.extreme ? 1.0 : 0.0; }, "1",
        "1 where the batch is an extreme one (longest document >= half the tokens)");
      d("split_documents", [](const ModeledBatch& b) { return static_cast<double>(b.split_documents); }, "documents",
        "documents split over a group (the rest are whole on one rank)");
      d("solver_ran", [](const ModeledBatch& b) { return b.solver_ran ? 1.0 : 0.0; }, "1",
        "1 where an optimising planner (FlexSP's MILP) ran its solver");
      d("solver_kept", [](const ModeledBatch& b) { return b.solver_kept ? 1.0 : 0.0; }, "1",
        "1 where the solver's plan was kept over the greedy's");
      h5::dataset(g.get(), "speedup_vs_baseline", batch_ratios(study, s), k, "1",
                  "per batch: baseline step time / this step time (the headline is the throughput_ratio attribute)");
    }
  });
}

}  // namespace flexcp
