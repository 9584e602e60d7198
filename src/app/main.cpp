// flexcp: flexible context parallelism for long-context attention. Entry point: MPI and Kokkos
// lifetimes, the command line, and the mapping from errors to exit codes.
#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdio>

#include "build_info.hpp"
#include "app/all_or_none.hpp"
#include "app/commands.hpp"
#include "comm/mpi_runtime.hpp"

namespace {

// What a user at a site needs beside the options: how to call it, what it reads from the
// environment, and what its exit status means (job scripts branch on it).
constexpr const char* kFooter = R"(
Examples:
  mpirun -np 8 flexcp run inputs/demo.toml --out results/run.h5 --set run.steps=5
  mpirun -np 4 flexcp info
  flexcp plan inputs/plan-llama3-8b.toml --nodes 128 --batches 20 --out results/plan.h5
  sbatch --nodes=2 --ntasks-per-node=8 jobscripts/run.sbatch inputs/demo.toml

Environment:
  FLEXCP_RANKS_PER_NODE=R          emulate nodes of R consecutive ranks on one machine
  FLEXCP_ALLOW_UNTESTED_NCCL=1     allow run.backend = "cuda" at more than one rank
  FLEXCP_FAIL_WRITES_AFTER_BYTES=N testing aid: file writes fail (no space) past N bytes
  SLURM_NTASKS                     when set, must equal MPI's world size
  HDF5_USE_FILE_LOCKING            honoured by HDF5

Exit status:
  0    success
  1    runtime failure (a failed write, a failed correctness check, an MPI or device error)
  2    usage or configuration error: the message names the file, key or value; nothing written
  143  stopped by SIGTERM or SIGINT at a step boundary; the results file holds every completed
       step (status = cut_short). mpirun signalled itself exits 1: read the file's status.

Inputs: docs/inputs.md. Results: docs/results-schema.md.)";

std::string joined_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.find_first_of(" \t'\"") != std::string::npos) arg = "'" + arg + "'";
    line += (i ? " " : "") + arg;
  }
  return line;
}

// Errors every rank agreed on are printed once; an error of this rank alone is printed by it,
// and when other ranks exist they are stopped so none waits forever in a collective.
int report_error(const std::exception& e, int code, bool agreed, const flexcp::comm::MpiRuntime& mpi) {
  if (!agreed || mpi.rank() == 0) std::fprintf(stderr, "flexcp: error: %s\n", e.what());
  if (!agreed && mpi.size() > 1) flexcp::comm::MpiRuntime::abort_all(code);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command_line = joined_command_line(argc, argv);
  flexcp::comm::MpiRuntime mpi(argc, argv);
  Kokkos::ScopeGuard kokkos;  // after MPI, finalised before it

  CLI::App app{"flexcp: flexible context parallelism for long-context LLM attention, and the static "
               "strategies beside it"};
  app.set_version_flag("--version", std::string("flexcp ") + flexcp::build_info::version + " (git " +
                                        flexcp::build_info::git_sha + ")");
  app.require_subcommand(1);
  app.footer(kFooter);
  flexcp::RunOptions run;
  run.command_line = command_line;
  auto* run_cmd = app.add_subcommand("run", "Execute every strategy of an input on its batches and write HDF5 results");
  run_cmd->add_option("input", run.input, "Input file (TOML, see docs/inputs.md)")->required();
  run_cmd->add_option("--out", run.output, "Results file (HDF5); overrides run.output");
  run_cmd->add_option("--set", run.overrides, "Override an input key: --set run.steps=2 (repeatable)")
      ->type_name("KEY=VALUE")
      ->take_all();
  run_cmd->add_flag("--force", run.force, "Overwrite an existing results file");
  run_cmd->add_option("--resolved-input", run.resolved_input,
                      "Also write the resolved input (TOML, after --set) to this file, before running");
  bool quiet = false, verbose = false;
  auto* quiet_flag = run_cmd->add_flag("--quiet,-q", quiet, "No progress line per step (stderr); tables and summary still print");
  run_cmd->add_flag("--verbose,-v", verbose, "A progress line for every step, with its plan and communicator cache")
      ->excludes(quiet_flag);
  run_cmd->footer(kFooter);
  flexcp::PlanOptions plan;
  plan.command_line = command_line;
  auto* plan_cmd = app.add_subcommand("plan", "Plan batches with every strategy on a simulated machine and compare "
                                              "them with the cost model (no execution)");
  plan_cmd->add_option("input", plan.input, "Input file (TOML, see docs/inputs.md)")->required();
  plan_cmd->add_option("--nodes", plan.nodes, "Simulated nodes; overrides cluster.nodes")->check(CLI::PositiveNumber);
  plan_cmd->add_option("--ranks-per-node", plan.ranks_per_node, "Ranks (GPUs) per node; overrides cluster.ranks_per_node")
      ->check(CLI::PositiveNumber);
  plan_cmd->add_option("--batches", plan.batches, "Batches to plan; overrides plan.batches")->check(CLI::PositiveNumber);
  plan_cmd->add_option("--lengths", plan.lengths, "Document-length file (one integer per line, # comments) to draw batches from");
  plan_cmd->add_flag("--extreme", plan.extreme, "Extreme batches: the longest document holds at least half the tokens");
  plan_cmd->add_option("--out", plan.output, "Results file (HDF5); overrides plan.output");
  plan_cmd->add_option("--set", plan.overrides, "Override an input key (repeatable)")->type_name("KEY=VALUE")->take_all();
  plan_cmd->add_flag("--force", plan.force, "Overwrite an existing results file");
  plan_cmd->add_option("--planner", plan.planner,
                       "optimal: also plan every batch with the MILP reference (small instances) and report flexcp's gap to it")
      ->check(CLI::IsMember({"optimal"}));
  bool plan_quiet = false, plan_verbose = false;
  auto* plan_quiet_flag = plan_cmd->add_flag("--quiet,-q", plan_quiet, "No progress line per batch (stderr)");
  plan_cmd->add_flag("--verbose,-v", plan_verbose, "Progress lines also give each batch's documents")->excludes(plan_quiet_flag);
  plan_cmd->footer(kFooter);
  auto* info_cmd = app.add_subcommand("info", "Print versions and the topology of this MPI job");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version are successes; everything else is a usage error (exit 2).
    const bool is_help = e.get_exit_code() == 0;
    if (mpi.rank() == 0) {
      if (is_help) app.exit(e);
      else std::fprintf(stderr, "flexcp: error: %s\nRun 'flexcp --help' for usage.\n", e.what());
    }
    return is_help ? 0 : static_cast<int>(flexcp::ExitCode::usage);
  }

  plan.verbosity = plan_quiet     ? flexcp::Verbosity::quiet
                    : plan_verbose ? flexcp::Verbosity::verbose
                                   : flexcp::Verbosity::normal;
  run.verbosity = quiet ? flexcp::Verbosity::quiet : verbose ? flexcp::Verbosity::verbose : flexcp::Verbosity::normal;
  try {
    if (*run_cmd) return flexcp::run_command(run, mpi.world());
    if (*plan_cmd) return flexcp::plan_command(plan, mpi.world());
    if (*info_cmd) return flexcp::info_command(mpi.world());
  } catch (const flexcp::AgreedError& e) {
    return report_error(e, static_cast<int>(e.exit_code()), true, mpi);
  } catch (const flexcp::Error& e) {
    return report_error(e, static_cast<int>(e.exit_code()), false, mpi);
  } catch (const std::exception& e) {
    return report_error(e, static_cast<int>(flexcp::ExitCode::failure), false, mpi);
  }
  return 0;
}
