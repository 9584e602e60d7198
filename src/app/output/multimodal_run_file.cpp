#include "app/output/multimodal_run_file.hpp"

#include "app/output/h5_helpers.hpp"
#include "app/output/multimodal_run_report.hpp"
#include "common/error.hpp"

namespace flexcp {
namespace {

void write_check(hid_t g, const MultimodalCheck& c) {
  h5::int_attribute(g, "check_ran", c.ran ? 1 : 0);
  h5::int_attribute(g, "check_passed", c.passed ? 1 : 0);
  h5::int_attribute(g, "check_step", c.step);
  h5::double_attribute(g, "check_tolerance", c.tolerance);
  std::vector<std::string> names(kMultimodalCheckedTensors.begin(), kMultimodalCheckedTensors.end());
  h5::string_dataset(g, "check_tensors", names, "the tensors of check_errors, in order");
  h5::dataset(g, "check_errors", std::vector<double>(c.errors.begin(), c.errors.end()), {c.errors.size()}, "1",
              "relative Frobenius error of each tensor over every rank vs the float64 reference of the whole chain "
              "(all zero when check_ran is 0)");
}

// /runs/<placement>/<component>: [step][rank] seconds, bytes sent and modelled bytes.
void write_component(hid_t parent, const MultimodalPlacementResult& r, std::size_t c, hsize_t ranks) {
  auto g = h5::create_group(parent, kMultimodalComponents[c]);
  std::vector<double> seconds, sent, modelled;
  for (const auto& s : r.steps)
    for (const auto& rank : s.ranks) {
      seconds.push_back(rank.components[c].seconds);
      sent.push_back(rank.components[c].bytes_sent);
      modelled.push_back(rank.components[c].bytes_modelled);
    }
  const std::vector<hsize_t> dims{static_cast<hsize_t>(r.steps.size()), ranks};
  h5::dataset(g.get(), "seconds", seconds, dims, "s", "wall time of the component on each rank, forward and backward");
  h5::dataset(g.get(), "bytes_sent", sent, dims, "bytes", "bytes each rank sent for the component, forward and backward");
  h5::dataset(g.get(), "bytes_modelled", modelled, dims, "bytes",
              "bytes the component's cost model says each rank sends (encoder_cost, boundary_traffic, cost_model)");
}

void write_placement(hid_t runs, const MultimodalPlacementResult& r, const MultimodalPlacementResult& base, hsize_t ranks) {
  auto g = h5::create_group(runs, r.name);
  h5::string_attribute(g.get(), "description", r.description);
  h5::int_attribute(g.get(), "encoder_ranks", r.encoder_ranks);
  h5::int_attribute(g.get(), "llm_ranks", r.llm_ranks);
  h5::double_attribute(g.get(), "throughput_ratio", ratio_over(base, r));
  h5::int_attribute(g.get(), "bytes_match", r.bytes_mismatch.empty() ? 1 : 0);
  h5::string_attribute(g.get(), "bytes_mismatch", r.bytes_mismatch);
  write_check(g.get(), r.check);
  const std::vector<hsize_t> k{static_cast<hsize_t>(r.steps.size())};
  auto d = [&](const char* name, auto get, const char* units, const char* what) {
    std::vector<double> column;
    for (std::size_t i = 0; i < r.steps.size(); ++i) column.push_back(get(r.steps[i], i));
    h5::dataset(g.get(), name, column, k, units, what);
  };
  using Step = MultimodalStepRecord;
  d("step", [](const Step& s, std::size_t) { return static_cast<double>(s.step); }, "1", "step index (warm-up steps first)");
  d("tokens", [](const Step& s, std::size_t) { return static_cast<double>(s.llm_tokens); }, "tokens", "LLM tokens (text + image)");
  d("image_tokens", [](const Step& s, std::size_t) { return static_cast<double>(s.image_tokens); }, "tokens",
    "LLM tokens made by the projector");
  d("images", [](const Step& s, std::size_t) { return static_cast<double>(s.images); }, "1", "images in the batch");
  d("step_time_s", [](const Step& s, std::size_t) { return s.step_s(); }, "s", "slowest rank's encoder + boundary + LLM");
  d("tokens_per_s", [](const Step& s, std::size_t) { return static_cast<double>(s.llm_tokens) / s.step_s(); }, "tokens/s",
    "tokens / step_time_s");
  for (std::size_t c = 0; c < kMultimodalComponents.size(); ++c) {
    const std::string seconds = std::string(kMultimodalComponents[c]) + "_s";
    const std::string bytes = std::string(kMultimodalComponents[c]) + "_bytes";
    d(seconds.c_str(), [c](const Step& s, std::size_t) { return component_seconds(s, c); }, "s", "slowest rank's time of the component");
    d(bytes.c_str(), [c](const Step& s, std::size_t) { return component_bytes(s, c); }, "bytes", "the component's bytes, all ranks");
  }
  d("boundary_bytes_modelled", [](const Step& s, std::size_t) { return component_bytes(s, 1, true); }, "bytes",
    "boundary bytes the model moves (boundary_traffic), all ranks: equal to boundary_bytes when bytes_match");
  d("bytes_sent", [](const Step& s, std::size_t) { return component_bytes(s, 0) + component_bytes(s, 1) + component_bytes(s, 2); },
    "bytes", "every component's bytes, all ranks");
  d("speedup_vs_baseline",
    [&](const Step& s, std::size_t i) { return i < base.steps.size() ? base.steps[i].step_s() / s.step_s() : 0.0; }, "1",
    "per step: the baseline's step time / this one");
  for (std::size_t c = 0; c < kMultimodalComponents.size(); ++c) write_component(g.get(), r, c, ranks);
}

}  // namespace

void write_multimodal_run_file(const std::filesystem::path& path, const RunMetadata& meta, const Config& config,
                               const std::vector<MultimodalPlacementResult>& results, bool force) {
  // As RunResultsFile: the path was checked before the run; a file that appeared since is a runtime failure.
  std::error_code ec;
  if (!force && std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
    throw Error("output '" + path.string() + "' appeared while the run was starting; not overwritten");
  const auto& mm = *config.multimodal;
  h5::write_atomically(path.string(), [&](hid_t root) {
    write_common_attributes(root, meta, "run-multimodal");
    h5::string_attribute(root, "status", meta.status);
    h5::int_attribute(root, "steps_requested", meta.steps_requested);
    h5::string_attribute(root, "llm", config.model.shape.name);
    h5::string_attribute(root, "encoder", mm.encoder.name);
    h5::string_attribute(root, "dataset", mm.dataset);
    h5::string_attribute(root, "baseline", results.empty() ? "" : results.front().name);
    h5::string_attribute(root, "headline", "throughput_ratio: sum of the baseline's measured step times / sum of the "
                                           "placement's, over the measured steps");
    auto runs = h5::create_group(root, "runs");
    if (!results.empty()) h5::string_attribute(runs.get(), "baseline", results.front().name);
    for (const auto& r : results) write_placement(runs.get(), r, results.front(), static_cast<hsize_t>(meta.nranks));
  });
}

}  // namespace flexcp
