#pragma once
// The subcommands of the flexcp executable. Each is collective over MPI_COMM_WORLD and returns
// the process exit code (0 success, 1 runtime failure or failed check, 2 usage/configuration).
#include <string>
#include <vector>

namespace flexcp {

struct RunOptions {
  std::string input;
  std::string output;                  // --out, overrides run.output
  std::vector<std::string> overrides;  // --set key=value
  bool force = false;
  std::string resolved_input;  // where to save the resolved input (TOML), or ""
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
  std::string command_line;
};

int run_command(const RunOptions& options);
int plan_command(const PlanOptions& options);
int info_command();

}  // namespace flexcp
