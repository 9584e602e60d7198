#pragma once
// The subcommands of the flexcp executable. Each is collective over the world and returns
// the process exit code (0 success, 1 runtime failure or failed check, 2 usage/configuration).
#include <string>
#include <vector>

#include "app/output/progress.hpp"
#include "comm/mpi_world.hpp"

namespace flexcp {

struct RunOptions {
  std::string input;
  std::string output;                  // --out, overrides run.output
  std::vector<std::string> overrides;  // --set key=value
  bool force = false;
  std::string resolved_input;  // where to save the resolved input (TOML), or ""
  Verbosity verbosity = Verbosity::normal;  // progress lines on rank 0: --quiet, --verbose
  std::string command_line;
};

struct PlanOptions {
  std::string input;
  std::string output;                  // --out, overrides plan.output
  std::vector<std::string> overrides;  // --set key=value
  std::string lengths;                 // --lengths FILE: batches drawn from this length file
  int nodes = 0, ranks_per_node = 0, batches = 0;  // 0: from the input
  bool extreme = false;
  bool force = false;
  std::string planner;  // --planner optimal: also model the MILP reference (added to plan.strategies)
  Verbosity verbosity = Verbosity::normal;  // a progress line per batch: --quiet, --verbose
  std::string command_line;
};

// `world`: the job (MPI's, which the GPU data path also bootstraps NCCL over).
int run_command(const RunOptions& options, comm::MpiWorld& world);
int plan_command(const PlanOptions& options, comm::World& world);
int info_command(comm::World& world);

}  // namespace flexcp
