#include "app/output/plan_report.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "app/output/h5_helpers.hpp"

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
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}
double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }
}  // namespace

std::vector<double> speedups(const PlanStudy& study, const ModeledSeries& series) {
  const auto* base = study.find("megatron-cp-ring");
  std::vector<double> out;
  for (std::size_t i = 0; i < series.batches.size() && base; ++i)
    out.push_back(base->batches[i].step_s / series.batches[i].step_s);
  return out;
}

void print_plan_study(std::FILE* out, const PlanStudy& study, const Config& c) {
  const auto& hw = c.hardware;
  std::fprintf(out, "# flexcp plan: modelled, not executed. %d nodes x %d ranks = %d ranks, hardware %s\n",
               study.cluster.nodes, study.cluster.ranks_per_node, study.cluster.ranks(), hw.name.c_str());
  std::fprintf(out, "# model %s (%.2fB parameters), capacity %lld tokens per rank; %lld %sbatches of %lld tokens\n",
               c.model.shape.name.c_str(), c.model.shape.parameters() * 1e-9, static_cast<long long>(study.capacity_tokens),
               static_cast<long long>(c.plan.batches),
               c.plan.extreme_fraction >= 1.0 ? "extreme " : (c.plan.extreme_fraction > 0.0 ? "mixed " : ""),
               static_cast<long long>(c.batch.tokens_per_batch));
  std::fprintf(out, "# baseline: megatron-cp-ring = %s (the best power-of-two CP degree on this batch stream)\n",
               study.baseline.c_str());
  std::fprintf(out, "# %-26s %10s %12s %10s %8s %7s %10s %8s %9s %9s\n", "strategy", "step(ms)", "tokens/s", "TFLOPS/GPU",
               "speedup", "imbal", "GB/step", "newsets", "plan(ms)", "max(ms)");
  const ModeledSeries* bound = study.find("bound");
  for (const auto& s : study.series) {
    const auto step = column(s, [](const ModeledBatch& b) { return b.step_s; });
    const auto infeasible = std::count_if(step.begin(), step.end(), [](double t) { return !std::isfinite(t); });
    if (infeasible > 0) {
      std::fprintf(out, "  %-26s infeasible on %ld of %zu batches: the longest document does not fit one group\n",
                   s.name.c_str(), static_cast<long>(infeasible), step.size());
      continue;
    }
    const auto tokens = column(s, [](const ModeledBatch& b) { return b.tokens; });
    const auto planning = column(s, [](const ModeledBatch& b) { return b.planning_s; });
    std::fprintf(out, "  %-26s %10.1f %12.0f %10.1f %8.3f %7.3f %10.2f %8.1f %9.3f %9.3f\n", s.name.c_str(), 1e3 * mean(step),
                 std::accumulate(tokens.begin(), tokens.end(), 0.0) / std::accumulate(step.begin(), step.end(), 0.0),
                 mean(column(s, [](const ModeledBatch& b) { return b.tflops_per_rank; })), mean(speedups(study, s)),
                 mean(column(s, [](const ModeledBatch& b) { return b.busy_imbalance; })),
                 1e-9 * mean(column(s, [](const ModeledBatch& b) { return b.bytes_sent; })),
                 mean(column(s, [](const ModeledBatch& b) { return b.new_rank_sets; })), 1e3 * mean(planning),
                 1e3 * max_of(planning));
  }
  for (const auto& s : study.series) {
    if (s.name.rfind("megatron-cp-ring-c", 0) == 0 || s.name.rfind("megatron-cp-allgather-c", 0) == 0) continue;  // per degree
    std::vector<double> over_bound;
    for (std::size_t i = 0; bound && i < s.batches.size(); ++i) over_bound.push_back(s.batches[i].step_s / bound->batches[i].step_s);
    // Speedups split by batch kind (NaN where the stream has none of that kind).
    std::vector<double> on_extreme, on_normal;
    const auto all = speedups(study, s);
    for (std::size_t i = 0; i < all.size(); ++i) (s.batches[i].extreme ? on_extreme : on_normal).push_back(all[i]);
    auto mean_or_nan = [&](const std::vector<double>& v) { return v.empty() ? std::nan("") : mean(v); };
    std::fprintf(out,
                 "flexcp-plan strategy=%s ranks=%d nodes=%d batches=%zu extreme_batches=%zu step_time_s=%.6f "
                 "mean_speedup=%.4f normal_speedup=%.4f extreme_speedup=%.4f median_step_over_bound=%.4f "
                 "planning_ms_median=%.4f\n",
                 s.name.c_str(), study.cluster.ranks(), study.cluster.nodes, s.batches.size(), on_extreme.size(),
                 s.mean_step_s(), mean(all), mean_or_nan(on_normal), mean_or_nan(on_extreme), median(over_bound),
                 1e3 * median(column(s, [](const ModeledBatch& b) { return b.planning_s; })));
  }
}

void write_plan_file(const std::string& path, const PlanStudy& study, const RunMetadata& meta, const Config& c) {
  h5::write_atomically(path, [&](hid_t root) {
    write_common_attributes(root, meta, "plan");
    h5::int_attribute(root, "ranks_per_node", study.cluster.ranks_per_node);
    h5::int_attribute(root, "capacity_tokens", study.capacity_tokens);
    h5::string_attribute(root, "hardware", c.hardware.name);
    h5::string_attribute(root, "baseline", study.baseline);
    auto runs = h5::create_group(root, "runs");
    for (const auto& s : study.series) {
      auto g = h5::create_group(runs.get(), s.name);
      h5::string_attribute(g.get(), "description", s.description);
      h5::int_attribute(g.get(), "modelled", 1);
      h5::int_attribute(g.get(), "degree", s.degree);
      const std::vector<hsize_t> k{static_cast<hsize_t>(s.batches.size())};
      auto d = [&](const char* name, auto get, const char* units, const char* what) {
        h5::dataset(g.get(), name, column(s, get), k, units, what);
      };
      d("step_time_s", [](const ModeledBatch& b) { return b.step_s; }, "s", "modelled step time per batch");
      d("tokens", [](const ModeledBatch& b) { return b.tokens; }, "tokens", "tokens in the batch");
      d("tokens_per_s", [](const ModeledBatch& b) { return b.tokens / b.step_s; }, "tokens/s", "tokens / step_time_s");
      d("tflops_per_gpu", [](const ModeledBatch& b) { return b.tflops_per_rank; }, "TFLOP/s",
        "model training FLOPs / step time / ranks");
      d("busy_imbalance", [](const ModeledBatch& b) { return b.busy_imbalance; }, "1", "max / mean of modelled busy time");
      d("bytes_sent", [](const ModeledBatch& b) { return b.bytes_sent; }, "bytes", "bytes sent by all ranks per step");
      d("planning_s", [](const ModeledBatch& b) { return b.planning_s; }, "s", "wall time of the planner");
      d("new_rank_sets", [](const ModeledBatch& b) { return static_cast<double>(b.new_rank_sets); }, "1",
        "groups of >= 2 ranks not used by recent batches (communicators to create)");
      d("rank_sets", [](const ModeledBatch& b) { return static_cast<double>(b.rank_sets); }, "1", "groups of >= 2 ranks");
      d("micro_batches", [](const ModeledBatch& b) { return static_cast<double>(b.micro_batches); }, "1", "micro-batches");
      d("groups", [](const ModeledBatch& b) { return static_cast<double>(b.groups); }, "1", "CP groups over all micro-batches");
      d("extreme", [](const ModeledBatch& b) { return b.extreme ? 1.0 : 0.0; }, "1",
        "1 where the batch is an extreme one (longest document >= half the tokens)");
      d("split_documents", [](const ModeledBatch& b) { return static_cast<double>(b.split_documents); }, "documents",
        "documents split over a group (the rest are whole on one rank)");
      h5::dataset(g.get(), "speedup_vs_baseline", speedups(study, s), k, "1", "baseline step time / this step time");
    }
  });
}

}  // namespace flexcp
