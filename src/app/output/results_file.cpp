#include "app/output/results_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "build_info.hpp"
#include "app/input/regular_file.hpp"
#include "app/output/comparison.hpp"
#include "app/output/h5_helpers.hpp"
#include "app/output/phase_comparison.hpp"

namespace flexcp {
namespace {

std::vector<double> flatten(const StrategyResult& result, const std::vector<double> ModelledStep::*field) {
  std::vector<double> v;
  for (const auto& s : result.steps) v.insert(v.end(), (s.modelled.*field).begin(), (s.modelled.*field).end());
  return v;
}

void write_modelled(hid_t g, const StrategyResult& result, const std::vector<hsize_t>& steps,
                    const std::vector<hsize_t>& steps_ranks) {
  std::vector<double> step_s;
  for (const auto& s : result.steps) step_s.push_back(s.modelled.step_s);
  h5::dataset(g, "modelled_step_time_s", step_s, steps, "s",
              "cost model's step time for the same plan (attention only, one layer, the input's hardware profile)");
  h5::dataset(g, "modelled_busy_s", flatten(result, &ModelledStep::busy_s), steps_ranks, "s",
              "cost model's compute time of each rank");
  h5::dataset(g, "modelled_exposed_comm_s", flatten(result, &ModelledStep::exposed_comm_s), steps_ranks, "s",
              "cost model's communication time not hidden behind compute, each rank");
  h5::dataset(g, "modelled_bytes_sent", flatten(result, &ModelledStep::bytes_sent), steps_ranks, "bytes",
              "cost model's bytes sent by each rank (equal to kv_bytes_sent by construction; tested)");
}

void write_phases(hid_t parent, const StrategyResult& result, const std::vector<hsize_t>& steps) {
  auto g = h5::create_group(parent, "phases");
  struct Series {
    const char* name;
    double PhaseTimes::*field;
    const char* what;
  };
  const Series series[] = {
      {"compute", &PhaseTimes::compute_s, "the busiest rank's attention compute"},
      {"exposed_comm", &PhaseTimes::exposed_comm_s, "step less the busiest rank's compute: communication not hidden"},
      {"step", &PhaseTimes::step_s, "step time without planning"}};
  for (const auto& [name, field, what] : series) {
    std::vector<double> measured, modelled, ratio;
    for (const auto& s : result.steps) {
      measured.push_back(measured_phases(s).*field);
      modelled.push_back(modelled_phases(s).*field);
      ratio.push_back(phase_ratio(measured.back(), modelled.back()));
    }
    const std::string n = name;
    h5::dataset(g.get(), ("measured_" + n + "_s").c_str(), measured, steps, "s", ("measured: " + std::string(what)).c_str());
    h5::dataset(g.get(), ("modelled_" + n + "_s").c_str(), modelled, steps, "s",
                ("cost model, same plan: " + std::string(what)).c_str());
    h5::dataset(g.get(), (n + "_ratio").c_str(), ratio, steps, "1", "measured / modelled (0 where the model says 0)");
  }
  const auto mean = summarize_phases(result).ratio();
  h5::double_attribute(g.get(), "mean_compute_ratio", mean.compute_s);
  h5::double_attribute(g.get(), "mean_exposed_comm_ratio", mean.exposed_comm_s);
  h5::double_attribute(g.get(), "mean_step_ratio", mean.step_s);
}

void write_emulation(hid_t root, const EmulatedNetwork& e) {
  auto g = h5::create_group(root, "emulation");
  h5::string_attribute(g.get(), "profile", e.profile);
  h5::string_attribute(g.get(), "profile_file", e.profile_file);
  h5::double_attribute(g.get(), "dilation", e.dilation);
  h5::int_attribute(g.get(), "nodes", e.nodes);
  h5::int_attribute(g.get(), "ranks_per_node", e.ranks_per_node);
  std::string namespaces;
  for (const auto& ns : e.namespaces) namespaces += (namespaces.empty() ? "" : " ") + ns;
  h5::string_attribute(g.get(), "namespaces", namespaces);
  h5::double_attribute(g.get(), "link_gbps", e.link_gbps);
  h5::double_attribute(g.get(), "link_delay_ms", e.link_delay_ms);
  h5::string_attribute(g.get(), "links", e.links);
  h5::double_attribute(g.get(), "byte_scale", e.byte_scale);
  h5::double_attribute(g.get(), "cpu_quota", e.cpu_quota);
  h5::double_attribute(g.get(), "rank_gflops", e.rank_gflops);
  h5::string_attribute(g.get(), "calibration", e.calibration);
}

void write_plan_summary(hid_t parent, const StrategyResult& result, const std::vector<hsize_t>& steps) {
  auto g = h5::create_group(parent, "plan");
  auto counts = [&](std::int64_t PlanSummary::*field) {
    std::vector<long long> v;
    for (const auto& s : result.steps) v.push_back(s.plan.*field);
    return v;
  };
  h5::dataset(g.get(), "micro_batches", counts(&PlanSummary::micro_batches), steps, "1", "micro-batches of the plan");
  h5::dataset(g.get(), "groups", counts(&PlanSummary::groups), steps, "1", "CP groups, all micro-batches");
  h5::dataset(g.get(), "split_documents", counts(&PlanSummary::split_documents), steps, "documents",
              "documents split zigzag over their group");
  h5::dataset(g.get(), "whole_documents", counts(&PlanSummary::whole_documents), steps, "documents",
              "documents kept whole on one rank");
  h5::dataset(g.get(), "new_rank_sets", counts(&PlanSummary::new_rank_sets), steps, "1",
              "groups of >= 2 ranks whose rank set was not used in recent batches");
  std::vector<long long> sizes, offsets{0};
  for (const auto& s : result.steps) {
    sizes.insert(sizes.end(), s.plan.group_sizes.begin(), s.plan.group_sizes.end());
    offsets.push_back(static_cast<long long>(sizes.size()));
  }
  h5::dataset(g.get(), "group_sizes", sizes, {static_cast<hsize_t>(sizes.size())}, "ranks",
              "size of every group, step after step; step i's are [group_offsets[i], group_offsets[i+1])");
  h5::dataset(g.get(), "group_offsets", offsets, {static_cast<hsize_t>(offsets.size())}, "1",
              "where each step's groups start in group_sizes");
  auto cache = h5::create_group(parent, "comm_cache");
  auto cache_counts = [&](std::int64_t CacheCounts::*field) {
    std::vector<long long> v;
    for (const auto& s : result.steps) v.push_back(s.cache.*field);
    return v;
  };
  h5::dataset(cache.get(), "hits", cache_counts(&CacheCounts::hits), steps, "1", "group communicators found cached");
  h5::dataset(cache.get(), "misses", cache_counts(&CacheCounts::misses), steps, "1", "group communicators created");
  h5::dataset(cache.get(), "evictions", cache_counts(&CacheCounts::evictions), steps, "1",
              "group communicators freed to stay within run.comm_cache_size");
  h5::dataset(cache.get(), "live", cache_counts(&CacheCounts::live), steps, "1", "group communicators cached after the step");
}

void write_strategy(hid_t runs, const StrategyResult& result, const StrategySummary& summary, int nranks) {
  auto g = h5::create_group(runs, result.name);
  h5::string_attribute(g.get(), "description", result.description);
  // The headline: throughput over the run vs the baseline (steps both ran), measured and modelled.
  h5::double_attribute(g.get(), "throughput_ratio", summary.speedup);
  h5::double_attribute(g.get(), "modelled_throughput_ratio", summary.modelled_speedup);
  const std::vector<hsize_t> steps{static_cast<hsize_t>(result.steps.size())};
  const std::vector<hsize_t> steps_ranks{steps[0], static_cast<hsize_t>(nranks)};

  auto per_step = [&](auto get) {
    std::vector<double> v;
    for (const auto& s : result.steps) v.push_back(get(s));
    return v;
  };
  auto per_rank = [&](double RankStepMetrics::*field) {
    std::vector<double> v;
    for (const auto& s : result.steps)
      for (const auto& r : s.ranks) v.push_back(r.*field);
    return v;
  };
  auto counts = [&](std::int64_t StepRecord::*field) {
    std::vector<long long> v;
    for (const auto& s : result.steps) v.push_back(s.*field);
    return v;
  };
  h5::dataset(g.get(), "step", counts(&StepRecord::step), steps, "1", "step index in the batch stream (warm-up steps excluded)");
  h5::dataset(g.get(), "tokens", counts(&StepRecord::tokens), steps, "tokens", "tokens in the batch");
  h5::dataset(g.get(), "documents", counts(&StepRecord::documents), steps, "documents", "documents in the batch");
  h5::dataset(g.get(), "longest_document", counts(&StepRecord::longest_document), steps, "tokens",
              "longest document of the batch");
  h5::dataset(g.get(), "step_time_s", per_step([](const StepRecord& s) { return s.step_time(); }), steps, "s",
              "step wall time: max over ranks");
  h5::dataset(g.get(), "tokens_per_s", per_step([](const StepRecord& s) { return double(s.tokens) / s.step_time(); }),
              steps, "tokens/s", "batch tokens / step_time_s");
  h5::dataset(g.get(), "attn_flops", per_step([](const StepRecord& s) { return s.total_flops(); }), steps, "FLOP",
              "attention forward + backward FLOPs from the exact mask area, all ranks");
  h5::dataset(g.get(), "attn_flops_per_s", per_step([](const StepRecord& s) { return s.total_flops() / s.step_time(); }),
              steps, "FLOP/s", "achieved attention FLOP rate: attn_flops / step_time_s");
  h5::dataset(g.get(), "busy_imbalance", per_step([](const StepRecord& s) { return s.busy_imbalance(); }), steps, "1",
              "max / mean over ranks of busy_s");
  h5::dataset(g.get(), "plan_s", per_rank(&RankStepMetrics::plan_s), steps_ranks, "s",
              "wall time planning and compiling the rank's program");
  h5::dataset(g.get(), "comm_wait_s", per_rank(&RankStepMetrics::comm_wait_s), steps_ranks, "s",
              "wall time blocked on communication");
  h5::dataset(g.get(), "compute_s", per_rank(&RankStepMetrics::compute_s), steps_ranks, "s",
              "wall time inside attention kernels");
  h5::dataset(g.get(), "busy_s", per_rank(&RankStepMetrics::busy_s), steps_ranks, "s",
              "thread CPU time inside attention kernels");
  h5::dataset(g.get(), "rank_step_s", per_rank(&RankStepMetrics::step_s), steps_ranks, "s",
              "wall time of the step on each rank");
  h5::dataset(g.get(), "kv_bytes_sent", per_rank(&RankStepMetrics::kv_bytes_sent), steps_ranks, "bytes",
              "bytes sent by each rank: KV forward and backward, dK/dV");
  h5::dataset(g.get(), "rank_tokens", per_rank(&RankStepMetrics::tokens), steps_ranks, "tokens",
              "tokens whose queries each rank owns");
  h5::dataset(g.get(), "rank_attn_flops", per_rank(&RankStepMetrics::attn_flops), steps_ranks, "FLOP",
              "attention FLOPs of each rank");

  h5::dataset(g.get(), "comm_create_s", per_rank(&RankStepMetrics::comm_create_s), steps_ranks, "s",
              "wall time creating group communicators (cache misses)");
  write_modelled(g.get(), result, steps, steps_ranks);
  write_phases(g.get(), result, steps);
  write_plan_summary(g.get(), result, steps);

  auto check = h5::create_group(g.get(), "check");
  const auto& c = result.check;
  h5::int_attribute(check.get(), "ran", c.ran);
  h5::int_attribute(check.get(), "passed", c.passed);
  h5::int_attribute(check.get(), "step", c.step);
  h5::double_attribute(check.get(), "tolerance", c.tolerance);
  h5::double_attribute(check.get(), "error_out", c.error_out);
  h5::double_attribute(check.get(), "error_dq", c.error_dq);
  h5::double_attribute(check.get(), "error_dk", c.error_dk);
  h5::double_attribute(check.get(), "error_dv", c.error_dv);
  h5::double_attribute(check.get(), "worst_document_error", c.worst_document_error);
  h5::int_attribute(check.get(), "worst_document", c.worst_document);
  h5::int_attribute(check.get(), "worst_document_tokens", c.worst_document_tokens);
  h5::string_attribute(check.get(), "worst_tensor", c.worst_tensor);
}
}  // namespace

void check_output_path(const std::filesystem::path& path, bool force) {
  namespace fs = std::filesystem;
  if (path.empty()) throw ConfigError("no output file: set run.output in the input or pass --out FILE");
  const auto dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(fs::status(dir, ec)))
    throw ConfigError("output '" + path.string() + "': directory '" + dir.string() + "' does not exist (create it first)");
  // symlink_status: a dangling symbolic link exists too, and is not silently replaced.
  const auto link = fs::symlink_status(path, ec);
  if (fs::exists(link)) {
    const auto target = fs::status(path, ec);
    if (fs::is_symlink(link) && !fs::exists(target) && !force)
      throw ConfigError("output '" + path.string() + "' is a symbolic link to '" + fs::read_symlink(path, ec).string() +
                        "', which does not exist; pass --force to replace the link, or name another file");
    if (fs::exists(target) && !fs::is_regular_file(target))
      throw ConfigError("output '" + path.string() + "' is " + file_kind(target.type()) +
                        ", not a regular file: results are written only to regular files (name a file, e.g. --out "
                        "results/run.h5)");
    if (!force) throw ConfigError("output '" + path.string() + "' already exists; pass --force to overwrite it");
  }
  // Can files be created beside it? (permissions, a read-only or immutable directory, /proc): find
  // out now, before any work, with the temporary name the writer will use.
  const auto probe = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    throw ConfigError("output '" + path.string() + "': cannot create files in directory '" + dir.string() +
                      "': " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_common_attributes(hid_t root, const RunMetadata& meta, const char* kind) {
  h5::int_attribute(root, "schema_version", kResultsSchemaVersion);
  h5::string_attribute(root, "kind", kind);
  h5::string_attribute(root, "flexcp_version", build_info::version);
  h5::string_attribute(root, "git_sha", build_info::git_sha);
  h5::string_attribute(root, "command_line", meta.command_line);
  h5::string_attribute(root, "config_toml", meta.config_toml);
  h5::string_attribute(root, "created_utc", meta.created_utc);
  h5::int_attribute(root, "nranks", meta.nranks);
  h5::int_attribute(root, "nnodes", meta.nnodes);
  auto topology = h5::create_group(root, "topology");
  h5::int_attribute(topology.get(), "emulated_ranks_per_node", meta.emulated_ranks_per_node);
  const std::vector<hsize_t> n{static_cast<hsize_t>(meta.nranks)};
  h5::dataset(topology.get(), "node_of_rank", std::vector<long long>(meta.node_of_rank.begin(), meta.node_of_rank.end()), n,
              "1", "node index of each rank");
  h5::dataset(topology.get(), "local_rank", std::vector<long long>(meta.local_rank.begin(), meta.local_rank.end()), n, "1",
              "rank index on its node");
  write_provenance(root, meta.provenance);
}

void write_results_file(const std::filesystem::path& path, const RunMetadata& meta,
                        const std::vector<StrategyResult>& results, bool force) {
  // The path was checked before the run (check_output_path); what goes wrong now (the directory
  // removed, the disk full, a file that appeared meanwhile) is a runtime failure, exit 1.
  std::error_code ec;
  if (!force && std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
    throw Error("output '" + path.string() + "' appeared while the run was starting; not overwritten");
  h5::write_atomically(path.string(), [&](hid_t root) {
    write_common_attributes(root, meta, "run");
    h5::string_attribute(root, "status", meta.status);
    h5::int_attribute(root, "steps_requested", meta.steps_requested);
    if (meta.emulation) write_emulation(root, *meta.emulation);
    auto runs = h5::create_group(root, "runs");
    if (!results.empty()) h5::string_attribute(runs.get(), "baseline", results[baseline_index(results)].name);
    const auto summaries = summarize(results);
    for (std::size_t i = 0; i < results.size(); ++i) write_strategy(runs.get(), results[i], summaries[i], meta.nranks);
  });
}

}  // namespace flexcp
