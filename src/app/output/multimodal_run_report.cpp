#include "app/output/multimodal_run_report.hpp"

#include <algorithm>

namespace flexcp {
namespace {
constexpr double kMiB = 1024.0 * 1024.0;

double total_step_s(const MultimodalPlacementResult& r) {
  double sum = 0.0;
  for (const auto& s : r.steps) sum += s.step_s();
  return sum;
}

double mean_component(const MultimodalPlacementResult& r, double (*get)(const MultimodalStepRecord&, std::size_t),
                      std::size_t component) {
  double sum = 0.0;
  for (const auto& s : r.steps) sum += get(s, component);
  return r.steps.empty() ? 0.0 : sum / static_cast<double>(r.steps.size());
}

double seconds_of(const MultimodalStepRecord& s, std::size_t c) { return component_seconds(s, c); }
double bytes_of(const MultimodalStepRecord& s, std::size_t c) { return component_bytes(s, c); }

const char* verdict(const MultimodalPlacementResult& r) {
  if (!r.bytes_mismatch.empty()) return "FAIL";
  return !r.check.ran ? "unchecked" : r.check.passed ? "PASS" : "FAIL";
}
}  // namespace

double component_seconds(const MultimodalStepRecord& step, std::size_t component) {
  double slowest = 0.0;
  for (const auto& r : step.ranks) slowest = std::max(slowest, r.components[component].seconds);
  return slowest;
}

double component_bytes(const MultimodalStepRecord& step, std::size_t component, bool modelled) {
  double sum = 0.0;
  for (const auto& r : step.ranks) sum += modelled ? r.components[component].bytes_modelled : r.components[component].bytes_sent;
  return sum;
}

double ratio_over(const MultimodalPlacementResult& baseline, const MultimodalPlacementResult& placement) {
  const double mine = total_step_s(placement);
  return mine > 0.0 ? total_step_s(baseline) / mine : 0.0;
}

double tokens_per_s(const MultimodalPlacementResult& r) {
  double tokens = 0.0;
  for (const auto& s : r.steps) tokens += static_cast<double>(s.llm_tokens);
  const double t = total_step_s(r);
  return t > 0.0 ? tokens / t : 0.0;
}

void print_multimodal_placement_table(std::FILE* out, const MultimodalPlacementResult& r) {
  std::fprintf(out, "# Placement %s: %s (ranks: encoder %d, LLM %d)\n", r.name.c_str(), r.description.c_str(),
               r.encoder_ranks, r.llm_ranks);
  std::fprintf(out, "# %5s %8s %7s %7s %10s %12s %11s %12s %10s %10s %12s %10s %8s\n", "step", "tokens", "image", "images",
               "time(ms)", "tokens/s", "encoder(ms)", "boundary(ms)", "llm(ms)", "enc(MiB)", "bound.(MiB)", "llm(MiB)",
               "bytes");
  for (const auto& s : r.steps) {
    const double t = s.step_s();
    std::fprintf(out, "  %5lld %8lld %7lld %7lld %10.2f %12.1f %11.2f %12.2f %10.2f %10.3f %12.3f %10.3f %8s\n",
                 static_cast<long long>(s.step), static_cast<long long>(s.llm_tokens), static_cast<long long>(s.image_tokens),
                 static_cast<long long>(s.images), 1e3 * t, static_cast<double>(s.llm_tokens) / t,
                 1e3 * component_seconds(s, 0), 1e3 * component_seconds(s, 1), 1e3 * component_seconds(s, 2),
                 component_bytes(s, 0) / kMiB, component_bytes(s, 1) / kMiB, component_bytes(s, 2) / kMiB,
                 s.bytes_mismatch().empty() ? "=model" : "DIFFER");
  }
  std::fprintf(out, "#\n");
}

void print_multimodal_comparison(std::FILE* out, const std::vector<MultimodalPlacementResult>& results,
                                 const std::string& output_path) {
  if (results.empty()) return;
  const auto& base = results.front();
  std::fprintf(out, "# Placements compared (measured; mean per step; component times: the slowest rank's; bytes: all "
                    "ranks); baseline %s\n", base.name.c_str());
  std::fprintf(out, "# %-14s %10s %11s %12s %10s %12s %12s %8s %10s %6s\n", "placement", "step(ms)", "encoder(ms)",
               "boundary(ms)", "llm(ms)", "bound.(MiB)", "tokens/s", "ratio", "check", "bytes");
  for (const auto& r : results) {
    const double n = std::max<double>(1.0, static_cast<double>(r.steps.size()));
    std::fprintf(out, "  %-14s %10.2f %11.2f %12.2f %10.2f %12.3f %12.1f %8.3f %10s %6s\n", r.name.c_str(),
                 1e3 * total_step_s(r) / n, 1e3 * mean_component(r, seconds_of, 0), 1e3 * mean_component(r, seconds_of, 1),
                 1e3 * mean_component(r, seconds_of, 2), mean_component(r, bytes_of, 1) / kMiB, tokens_per_s(r),
                 ratio_over(base, r), verdict(r), r.bytes_mismatch.empty() ? "=model" : "DIFFER");
  }
  std::fprintf(out, "# Correctness: the whole chain (encoder attention, projector, boundary, LLM attention, and back) vs its "
                    "float64 reference\n#   (relative Frobenius error of each tensor over every rank; the worst decides)\n");
  for (const auto& r : results) {
    const auto& c = r.check;
    if (!c.ran) {
      std::fprintf(out, "#   %-14s not checked (run.check = false)\n", r.name.c_str());
    } else {
      std::fprintf(out, "#   %-14s step %lld:", r.name.c_str(), static_cast<long long>(c.step));
      for (std::size_t t = 0; t < c.errors.size(); ++t) std::fprintf(out, " %s %.1e%s", kMultimodalCheckedTensors[t], c.errors[t], t + 1 < c.errors.size() ? "," : "");
      std::fprintf(out, "; worst %s, tolerance %.1e  %s\n", c.worst_tensor().c_str(), c.tolerance, c.passed ? "PASS" : "FAIL");
    }
    if (!r.bytes_mismatch.empty()) std::fprintf(out, "#   %-14s bytes differ from the model: %s\n", r.name.c_str(), r.bytes_mismatch.c_str());
  }
  for (const auto& r : results)
    std::fprintf(out,
                 "flexcp-multimodal placement=%s encoder_ranks=%d llm_ranks=%d steps=%zu step_time_s=%.6f tokens_per_s=%.1f "
                 "baseline=%s throughput_ratio=%.3f boundary_bytes_per_step=%.0f bytes=%s check=%s\n",
                 r.name.c_str(), r.encoder_ranks, r.llm_ranks, r.steps.size(),
                 total_step_s(r) / std::max<double>(1.0, static_cast<double>(r.steps.size())), tokens_per_s(r),
                 base.name.c_str(), ratio_over(base, r), mean_component(r, bytes_of, 1),
                 r.bytes_mismatch.empty() ? "match" : "differ",
                 !r.check.ran ? "skipped" : (r.check.passed ? "pass" : "fail"));
  std::fprintf(out, "# Results written to %s\n", output_path.c_str());
}

}  // namespace flexcp
