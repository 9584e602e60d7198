#include "app/output/report.hpp"

#include <algorithm>
#include <sstream>

#include "build_info.hpp"
#ifdef FLEXCP_HAVE_CUDA
#include "device/inventory.hpp"
#endif
#include "comm/mpi_runtime.hpp"
#include "app/output/comparison.hpp"
#include "app/output/provenance.hpp"

namespace flexcp {
namespace {
constexpr double kMiB = 1024.0 * 1024.0;

double mean_of(const std::vector<StepRecord>& steps, double (StepRecord::*get)() const) {
  double sum = 0.0;
  for (const auto& s : steps) sum += (s.*get)();
  return steps.empty() ? 0.0 : sum / static_cast<double>(steps.size());
}

double mean_tokens_per_s(const std::vector<StepRecord>& steps) {
  double tokens = 0.0, time = 0.0;
  for (const auto& s : steps) {
    tokens += static_cast<double>(s.tokens);
    time += s.step_time();
  }
  return time > 0.0 ? tokens / time : 0.0;
}
}  // namespace

void print_versions(std::FILE* out) {
  std::fprintf(out, "# flexcp %s (git %s, %s build)\n", build_info::version, build_info::git_sha, build_info::build_type);
  std::fprintf(out, "# MPI: %s\n", comm::MpiRuntime::library_version().c_str());
  std::fprintf(out, "# HDF5: %s   Kokkos: %s\n", hdf5_version().c_str(), kokkos_version().c_str());
#ifdef FLEXCP_HAVE_CUDA
  const auto cuda = device::cuda_inventory();
  std::fprintf(out, "# CUDA: runtime %s, driver %s, NCCL %s, cuDNN %s; kernels built for sm_%s\n",
               cuda.runtime_version.c_str(), cuda.driver_version.c_str(), cuda.nccl_version.c_str(),
               cuda.cudnn_version.c_str(), build_info::cuda_architectures);
  if (cuda.devices.empty()) std::fprintf(out, "# CUDA devices: none (%s)\n", cuda.why_none.c_str());
  for (const auto& d : cuda.devices)
    std::fprintf(out, "# CUDA device %d: %s, compute capability %d.%d, %.1f GiB\n", d.index, d.name.c_str(), d.major,
                 d.minor, d.memory_gib);
#else
  std::fprintf(out, "# CUDA: not built (no nvcc at configure time, or FLEXCP_CUDA=OFF)\n");
#endif
}

void print_topology(std::FILE* out, const comm::Topology& t) {
  std::fprintf(out, "# Topology: %d ranks on %d node(s)%s\n", t.world_size, t.nodes,
               t.emulated_ranks_per_node > 0
                   ? (" (emulated: " + std::to_string(t.emulated_ranks_per_node) + " ranks per node)").c_str()
                   : " (from MPI_COMM_TYPE_SHARED)");
  std::fprintf(out, "#  %6s %6s %6s  %s\n", "rank", "node", "local", "host");
  for (int r = 0; r < t.world_size; ++r) {
    const auto i = static_cast<std::size_t>(r);
    std::fprintf(out, "#  %6d %6d %6d  %s\n", r, t.node_of_rank[i], t.local_rank_of_rank[i], t.host_of_rank[i].c_str());
  }
}

void print_header(std::FILE* out, const Config& c, const comm::Topology& topology, const std::string& backend) {
  print_versions(out);
  print_topology(out, topology);
  std::fprintf(out, "# Backend: %s\n", backend.c_str());
  if (c.emulation) {
    const auto& e = *c.emulation;
    std::fprintf(out, "# Emulated cluster: %s dilated x%.0f (time runs %.0fx slower than on the profile's hardware): %d node(s) x %d "
                      "rank(s), %.2f CPU core(s) and %.2f GFLOP/s per rank\n#   %s\n",
                 e.profile.c_str(), e.dilation, e.dilation, e.nodes, e.ranks_per_node, e.cpu_quota, e.rank_gflops, e.links.c_str());
  }
  std::fprintf(out, "# Resolved input:\n");
  std::istringstream lines(c.resolved_toml);
  for (std::string line; std::getline(lines, line);) std::fprintf(out, "#   %s\n", line.c_str());
  std::fprintf(out, "#\n");
}

void print_strategy_table(std::FILE* out, const StrategyResult& r) {
  std::fprintf(out, "# Strategy %s: %s\n", r.name.c_str(), r.description.c_str());
  std::fprintf(out, "# %5s %9s %6s %8s %10s %12s %10s %8s %10s %12s %10s\n", "step", "tokens", "docs", "longest",
               "time(ms)", "tokens/s", "busy(ms)", "imbal", "wait(ms)", "sent(MiB)", "GFLOP/s");
  for (const auto& s : r.steps) {
    const double t = s.step_time();
    std::fprintf(out, "  %5lld %9lld %6lld %8lld %10.2f %12.1f %10.2f %8.3f %10.2f %12.2f %10.2f\n",
                 static_cast<long long>(s.step), static_cast<long long>(s.tokens), static_cast<long long>(s.documents),
                 static_cast<long long>(s.longest_document), 1e3 * t, static_cast<double>(s.tokens) / t,
                 1e3 * s.max_busy(), s.busy_imbalance(), 1e3 * s.max_comm_wait(), s.total_bytes() / kMiB,
                 1e-9 * s.total_flops() / t);
  }
  std::fprintf(out, "# %5s %9s %6s %8s %10.2f %12.1f %10.2f %8.3f %10.2f %12.2f %10.2f\n", "mean", "", "", "",
               1e3 * mean_of(r.steps, &StepRecord::step_time), mean_tokens_per_s(r.steps),
               1e3 * mean_of(r.steps, &StepRecord::max_busy), mean_of(r.steps, &StepRecord::busy_imbalance),
               1e3 * mean_of(r.steps, &StepRecord::max_comm_wait), mean_of(r.steps, &StepRecord::total_bytes) / kMiB,
               1e-9 * mean_of(r.steps, &StepRecord::total_flops) / mean_of(r.steps, &StepRecord::step_time));
  std::fprintf(out, "#\n");
}

void print_footer(std::FILE* out, const std::vector<StrategyResult>& results, const comm::Topology& topology,
                  const std::string& output_path) {
  std::fprintf(out, "# Correctness: O, dQ, dK, dV vs the float64 single-process reference (relative Frobenius error of each\n"
                    "# whole tensor, and the worst of any tensor over single documents, which decides)\n");
  for (const auto& r : results) {
    const auto& c = r.check;
    if (!c.ran) {
      std::fprintf(out, "#   %-18s not checked (run.check = false)\n", r.name.c_str());
      continue;
    }
    std::fprintf(out,
                 "#   %-18s step %lld: O %.2e  dQ %.2e  dK %.2e  dV %.2e  worst document %lld (%lld tokens) %s %.2e  "
                 "tolerance %.1e  %s\n",
                 r.name.c_str(), static_cast<long long>(c.step), c.error_out, c.error_dq, c.error_dk, c.error_dv,
                 static_cast<long long>(c.worst_document), static_cast<long long>(c.worst_document_tokens),
                 c.worst_tensor.c_str(), c.worst_document_error, c.tolerance, c.passed ? "PASS" : "FAIL");
  }
  const auto summaries = summarize(results);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const auto& s = summaries[i];
    std::fprintf(out,
                 "flexcp-summary strategy=%s ranks=%d nodes=%d steps=%zu tokens_per_s=%.1f step_time_s=%.6f "
                 "busy_max_s=%.6f busy_imbalance=%.4f bytes_per_step=%.0f attn_gflops=%.3f baseline=%s "
                 "throughput_ratio=%.3f busy_throughput_ratio=%.3f modelled_step_time_s=%.6f "
                 "modelled_throughput_ratio=%.3f check=%s\n",
                 r.name.c_str(), topology.world_size, topology.nodes, r.steps.size(), mean_tokens_per_s(r.steps),
                 s.step_s, s.busy_max_s, s.busy_imbalance, s.bytes,
                 1e-9 * mean_of(r.steps, &StepRecord::total_flops) / mean_of(r.steps, &StepRecord::step_time),
                 results[baseline_index(results)].name.c_str(), s.speedup, s.busy_speedup, s.modelled_step_s,
                 s.modelled_speedup,
                 !r.check.ran ? "skipped" : (r.check.passed ? "pass" : "fail"));
  }
  std::fprintf(out, "# Results written to %s\n", output_path.c_str());
}

}  // namespace flexcp
