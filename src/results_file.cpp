#include "results_file.hpp"

#include "build_info.hpp"
#include "h5_helpers.hpp"

namespace flexcp {
namespace {

void write_strategy(hid_t runs, const StrategyResult& result, int nranks) {
  auto g = h5::create_group(runs, result.name);
  h5::string_attribute(g.get(), "description", result.description);
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
}
}  // namespace

void check_output_path(const std::filesystem::path& path, bool force) {
  if (path.empty()) throw ConfigError("no output file: set run.output in the input or pass --out FILE");
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(dir))
    throw ConfigError("output '" + path.string() + "': directory '" + dir.string() + "' does not exist (create it first)");
  if (std::filesystem::exists(path) && !force)
    throw ConfigError("output '" + path.string() + "' already exists; pass --force to overwrite it");
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
}

void write_results_file(const std::filesystem::path& path, const RunMetadata& meta,
                        const std::vector<StrategyResult>& results, bool force) {
  check_output_path(path, force);
  h5::write_atomically(path.string(), [&](hid_t root) {
    write_common_attributes(root, meta, "run");
    auto runs = h5::create_group(root, "runs");
    for (const auto& r : results) write_strategy(runs.get(), r, meta.nranks);
  });
}

}  // namespace flexcp
