#include "results_file.hpp"

#include <unistd.h>

#include "build_info.hpp"
#include "h5_handle.hpp"

namespace flexcp {
namespace {

void string_attribute(hid_t object, const char* name, const std::string& value) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  h5_check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  H5Handle attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, name);
  const char* text = value.c_str();
  h5_check(H5Awrite(attr.get(), type.get(), &text), name);
}

template <class T>
void scalar_attribute(hid_t object, const char* name, T value, hid_t type) {
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  H5Handle attr(H5Acreate2(object, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, name);
  h5_check(H5Awrite(attr.get(), type, &value), name);
}

template <class T>
void dataset(hid_t group, const char* name, const std::vector<T>& values, std::vector<hsize_t> dims, hid_t type,
             const char* units, const char* description) {
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, name);
  H5Handle set(H5Dcreate2(group, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, name);
  if (!values.empty()) h5_check(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), name);
  string_attribute(set.get(), "units", units);
  string_attribute(set.get(), "description", description);
}

H5Handle group(hid_t parent, const std::string& name) {
  return H5Handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, name.c_str());
}

void write_strategy(hid_t runs, const StrategyResult& result, int nranks) {
  auto g = group(runs, result.name);
  string_attribute(g.get(), "description", result.description);
  const auto steps = static_cast<hsize_t>(result.steps.size());
  const auto ranks = static_cast<hsize_t>(nranks);

  auto per_step = [&](auto get) {
    std::vector<double> v;
    for (const auto& s : result.steps) v.push_back(get(s));
    return v;
  };
  auto per_rank = [&](auto get) {
    std::vector<double> v;
    for (const auto& s : result.steps)
      for (const auto& r : s.ranks) v.push_back(get(r));
    return v;
  };
  std::vector<std::int64_t> step_index, tokens, documents, longest;
  for (const auto& s : result.steps) {
    step_index.push_back(s.step);
    tokens.push_back(s.tokens);
    documents.push_back(s.documents);
    longest.push_back(s.longest_document);
  }
  const hid_t i64 = H5T_NATIVE_INT64, f64 = H5T_NATIVE_DOUBLE;
  dataset(g.get(), "step", step_index, {steps}, i64, "1", "step index in the batch stream (warm-up steps excluded)");
  dataset(g.get(), "tokens", tokens, {steps}, i64, "tokens", "tokens in the batch");
  dataset(g.get(), "documents", documents, {steps}, i64, "documents", "documents in the batch");
  dataset(g.get(), "longest_document", longest, {steps}, i64, "tokens", "longest document of the batch");
  dataset(g.get(), "step_time_s", per_step([](const StepRecord& s) { return s.step_time(); }), {steps}, f64, "s",
          "step wall time: max over ranks");
  dataset(g.get(), "tokens_per_s", per_step([](const StepRecord& s) { return double(s.tokens) / s.step_time(); }),
          {steps}, f64, "tokens/s", "batch tokens / step_time_s");
  dataset(g.get(), "attn_flops", per_step([](const StepRecord& s) { return s.total_flops(); }), {steps}, f64, "FLOP",
          "attention forward + backward FLOPs from the exact mask area, all ranks");
  dataset(g.get(), "attn_flops_per_s", per_step([](const StepRecord& s) { return s.total_flops() / s.step_time(); }),
          {steps}, f64, "FLOP/s", "achieved attention FLOP rate: attn_flops / step_time_s");
  dataset(g.get(), "busy_imbalance", per_step([](const StepRecord& s) { return s.busy_imbalance(); }), {steps}, f64, "1",
          "max / mean over ranks of busy_s");
  dataset(g.get(), "plan_s", per_rank([](const RankStepMetrics& r) { return r.plan_s; }), {steps, ranks}, f64, "s",
          "wall time planning and compiling the rank's program");
  dataset(g.get(), "comm_wait_s", per_rank([](const RankStepMetrics& r) { return r.comm_wait_s; }), {steps, ranks}, f64,
          "s", "wall time blocked on communication");
  dataset(g.get(), "compute_s", per_rank([](const RankStepMetrics& r) { return r.compute_s; }), {steps, ranks}, f64, "s",
          "wall time inside attention kernels");
  dataset(g.get(), "busy_s", per_rank([](const RankStepMetrics& r) { return r.busy_s; }), {steps, ranks}, f64, "s",
          "thread CPU time inside attention kernels");
  dataset(g.get(), "rank_step_s", per_rank([](const RankStepMetrics& r) { return r.step_s; }), {steps, ranks}, f64, "s",
          "wall time of the step on each rank");
  dataset(g.get(), "kv_bytes_sent", per_rank([](const RankStepMetrics& r) { return r.kv_bytes_sent; }), {steps, ranks},
          f64, "bytes", "bytes sent by each rank: KV forward and backward, dK/dV");
  dataset(g.get(), "rank_tokens", per_rank([](const RankStepMetrics& r) { return r.tokens; }), {steps, ranks}, f64,
          "tokens", "tokens whose queries each rank owns");
  dataset(g.get(), "rank_attn_flops", per_rank([](const RankStepMetrics& r) { return r.attn_flops; }), {steps, ranks},
          f64, "FLOP", "attention FLOPs of each rank");

  auto check = group(g.get(), "check");
  const auto& c = result.check;
  scalar_attribute(check.get(), "ran", static_cast<int>(c.ran), H5T_NATIVE_INT);
  scalar_attribute(check.get(), "passed", static_cast<int>(c.passed), H5T_NATIVE_INT);
  scalar_attribute(check.get(), "step", c.step, H5T_NATIVE_INT64);
  scalar_attribute(check.get(), "tolerance", c.tolerance, H5T_NATIVE_DOUBLE);
  scalar_attribute(check.get(), "error_out", c.error_out, H5T_NATIVE_DOUBLE);
  scalar_attribute(check.get(), "error_dq", c.error_dq, H5T_NATIVE_DOUBLE);
  scalar_attribute(check.get(), "error_dk", c.error_dk, H5T_NATIVE_DOUBLE);
  scalar_attribute(check.get(), "error_dv", c.error_dv, H5T_NATIVE_DOUBLE);
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

void write_results_file(const std::filesystem::path& path, const RunMetadata& meta,
                        const std::vector<StrategyResult>& results, bool force) {
  check_output_path(path, force);
  const auto temporary = std::filesystem::path(path.string() + ".tmp." + std::to_string(getpid()));
  try {
    {
      H5Handle file(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, temporary.c_str());
      const hid_t root = file.get();
      scalar_attribute(root, "schema_version", kResultsSchemaVersion, H5T_NATIVE_INT);
      string_attribute(root, "flexcp_version", build_info::version);
      string_attribute(root, "git_sha", build_info::git_sha);
      string_attribute(root, "command_line", meta.command_line);
      string_attribute(root, "config_toml", meta.config_toml);
      string_attribute(root, "created_utc", meta.created_utc);
      scalar_attribute(root, "nranks", meta.nranks, H5T_NATIVE_INT);
      scalar_attribute(root, "nnodes", meta.nnodes, H5T_NATIVE_INT);

      auto topology = group(root, "topology");
      scalar_attribute(topology.get(), "emulated_ranks_per_node", meta.emulated_ranks_per_node, H5T_NATIVE_INT);
      const auto n = static_cast<hsize_t>(meta.nranks);
      dataset(topology.get(), "node_of_rank", meta.node_of_rank, {n}, H5T_NATIVE_INT, "1", "node index of each rank");
      dataset(topology.get(), "local_rank", meta.local_rank, {n}, H5T_NATIVE_INT, "1", "rank index on its node");

      auto runs = group(root, "runs");
      for (const auto& r : results) write_strategy(runs.get(), r, meta.nranks);
      h5_check(H5Fflush(root, H5F_SCOPE_GLOBAL), "H5Fflush");
    }
    std::filesystem::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace flexcp
