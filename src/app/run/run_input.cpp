#include "app/run/run_input.hpp"

#include "app/all_or_none.hpp"
#include "app/output/atomic_file.hpp"
#include "app/output/file_bytes.hpp"
#include "app/output/results_file.hpp"
#include "app/run/multimodal_placement.hpp"
#include "app/run/run_setup.hpp"

namespace flexcp {
namespace {
// The resolved input beside the results (job scripts keep it with each run), written like a
// plan results file: temporary name, then rename; never over an existing file without --force.
void write_text_file(const std::filesystem::path& path, const std::string& text, bool force) {
  check_output_path(path, force);
  replace_file_atomically(path.string(), [&](const std::string& temporary) { write_file_bytes(temporary, text); });
}

// Interleaved samples as one integer vector for the broadcast: per sample its segment count,
// then (text tokens, image width, image height) per segment.
std::vector<std::int64_t> pack_samples(const std::vector<sched::MultimodalSample>& samples) {
  std::vector<std::int64_t> out;
  for (const auto& sample : samples) {
    out.push_back(static_cast<std::int64_t>(sample.segments.size()));
    for (const auto& s : sample.segments) out.insert(out.end(), {s.text_tokens, s.image.width, s.image.height});
  }
  return out;
}

std::vector<sched::MultimodalSample> unpack_samples(const std::vector<std::int64_t>& packed) {
  std::vector<sched::MultimodalSample> out;
  for (std::size_t at = 0; at < packed.size();) {
    auto& sample = out.emplace_back();
    const auto n = packed[at++];
    for (std::int64_t i = 0; i < n; ++i, at += 3) sample.segments.push_back({packed[at], {packed[at + 1], packed[at + 2]}});
  }
  return out;
}
}  // namespace

Config load_run_input(const RunOptions& options, comm::World& world) {
  std::string resolved;
  std::vector<std::int64_t> samples;
  all_or_none(world, [&] {
    if (world.rank() != 0) return;
    toml::table root = parse_toml_file(options.input, "input file");
    apply_overrides(root, options.overrides);
    if (!options.output.empty()) apply_override(root, "run.output=" + options.output);
    const auto input_dir = std::filesystem::path(options.input).parent_path();
    const auto origins = resolve_includes(root, input_dir, options.input);
    Config config = config_from_table(root, options.input, input_dir, true, world.size(), origins);
    if (config.multimodal) {
      check_multimodal_run(config, world.size());
      samples = pack_samples(config.multimodal->samples);
    } else {
      check_run_strategies(config, world.size());
      samples = config.batch.samples;
    }
    check_output_path(config.run.output, options.force);
    resolved = config.resolved_toml;
    if (!options.resolved_input.empty()) write_text_file(options.resolved_input, resolved, options.force);
  });
  world.broadcast(resolved);
  world.broadcast(samples);
  Config config = config_from_table(toml::parse(resolved), "resolved input", {}, false, world.size());
  if (config.multimodal) config.multimodal->samples = unpack_samples(samples);
  else config.batch.samples = std::move(samples);
  return config;
}

}  // namespace flexcp
