#pragma once
// What results files of `flexcp run` and `flexcp plan` share (schema in docs/results-schema.md):
// the run's metadata, the output path check, the root attributes. The run file itself is
// written step by step by RunResultsFile (run_results_file.hpp).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/input/emulation_config.hpp"
#include "app/output/provenance.hpp"
#include "app/run/step_metrics.hpp"

namespace flexcp {

// Plan files (and what write_common_attributes writes) are schema 1; run files are schema 2
// (extendible datasets, counts as integers, dimension scales) and say so over it.
inline constexpr int kResultsSchemaVersion = 1;
inline constexpr int kRunResultsSchemaVersion = 2;

struct RunMetadata {
  std::string command_line;
  std::string config_toml;
  std::string created_utc;
  int nranks = 1;
  int nnodes = 1;
  int emulated_ranks_per_node = 0;
  std::vector<int> node_of_rank;
  std::vector<int> local_rank;
  // Run files: "running" (appended after every step), "complete", or "cut_short"
  // (stopped by a signal at a step boundary); every completed step is in the file.
  std::string status = "complete";
  std::int64_t steps_requested = 0;  // measured steps asked for, per strategy
  std::optional<EmulatedNetwork> emulation{};  // the emulated cluster the run executed on, if any
  Provenance provenance{};  // libraries, hosts, Slurm job and launcher environment (/provenance)
};

// Before any work: throws ConfigError (naming the path and the reason) when `path` exists and
// `force` is false (a dangling symbolic link included), exists but is not a regular file (a
// directory, /dev/null, a FIFO: refused even with `force`), or its directory is missing or
// does not let this process create a file there (probed).
void check_output_path(const std::filesystem::path& path, bool force);

// Root attributes, /topology and /provenance shared by run and plan files; `root` is an HDF5 hid_t, `kind`
// is "run" or "plan".
void write_common_attributes(std::int64_t root, const RunMetadata& meta, const char* kind);

}  // namespace flexcp
