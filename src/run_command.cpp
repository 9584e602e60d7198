#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "atomic_file.hpp"
#include "collective_guard.hpp"
#include "common/clock.hpp"
#include "commands.hpp"
#include "comm/launch_check.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/mpi_transport.hpp"
#include "comm/topology.hpp"
#include "config.hpp"
#include "comparison.hpp"
#include "report.hpp"
#include "results_file.hpp"
#include "plan_step.hpp"
#include "run_strategies.hpp"
#include "stop_signal.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp {
namespace {

// The resolved input beside the results (job scripts keep it with each run), written like a
// results file: temporary name, then rename; never over an existing file without --force.
void write_text_file(const std::filesystem::path& path, const std::string& text, bool force) {
  check_output_path(path, force);
  replace_file_atomically(path.string(), [&](const std::string& temporary) {
    std::ofstream out(temporary);
    out << text;
    if (!out.flush()) throw Error("cannot write '" + temporary + "'");
  });
}

// Rank 0 reads and validates the input; every rank then builds the same Config from the
// resolved text and rank 0's dataset samples, so no other rank touches the file system.
Config load_config_everywhere(const RunOptions& options, MPI_Comm world, int rank, int size) {
  std::string resolved;
  std::vector<std::int64_t> samples;
  all_or_none(world, [&] {
    if (rank != 0) return;
    toml::table root = parse_toml_file(options.input, "input file");
    for (const auto& assignment : options.overrides) apply_override(root, assignment);
    if (!options.output.empty()) apply_override(root, "run.output=" + options.output);
    const auto input_dir = std::filesystem::path(options.input).parent_path();
    const auto origins = resolve_includes(root, input_dir, options.input);
    Config config = config_from_table(root, options.input, input_dir, true, size, origins);
    check_run_strategies(config, size);
    check_output_path(config.run.output, options.force);
    resolved = config.resolved_toml;
    samples = config.batch.samples;
    if (!options.resolved_input.empty()) write_text_file(options.resolved_input, resolved, options.force);
  });
  comm::broadcast(world, resolved);
  comm::broadcast(world, samples);
  Config config = config_from_table(toml::parse(resolved), "resolved input", {}, false, size);
  config.batch.samples = std::move(samples);
  return config;
}

sched::Batch batch_for_step(const Config& c, std::uint64_t step) {
  if (!c.batch.uses_dataset()) return sched::Batch{c.batch.lengths};
  return sched::BatchSampler(c.batch.samples, c.batch.tokens_per_batch, c.batch.seed).batch(step);
}

std::int64_t longest(const sched::Batch& b) {
  std::int64_t m = 0;
  for (auto l : b.doc_lengths) m = std::max(m, l);
  return m;
}

// Runs one strategy's steps into `result`. After every step, `after_step` runs on every rank
// and returns true when the ranks agreed to stop (a signal): the strategy ends there.
bool run_strategy(RunStrategy strategy, const Config& config, const sched::PlannerContext& context,
                  comm::Transport& transport, MPI_Comm world, int rank, StrategyResult& result,
                  const std::function<bool()>& after_step) {
  // Each strategy pays for its own communicators: a fresh cache, freed before the next strategy.
  comm::CommunicatorCache cache(world, static_cast<std::size_t>(config.run.comm_cache_size));
  const auto total = config.run.warmup_steps + config.run.steps;
  for (std::int64_t step = 0; step < total; ++step) {
    const auto batch = batch_for_step(config, static_cast<std::uint64_t>(step));
    const auto activation_seed = sched::splitmix64(config.batch.seed ^ (0xac71ULL << 32) ^ static_cast<std::uint64_t>(step));
    const bool measured = step >= config.run.warmup_steps;
    const bool check = config.run.check && step == config.run.warmup_steps;
    auto outcome = run_plan_step(config, strategy, context, transport, cache, world, batch, activation_seed, check, step);
    const auto packed = outcome.metrics.pack();
    const auto all = comm::gather_to_root(world, std::vector<double>(packed.begin(), packed.end()));
    if (outcome.check) result.check = *outcome.check;
    if (measured && rank == 0) {
      StepRecord record{step, batch.total_tokens(), static_cast<std::int64_t>(batch.doc_lengths.size()), longest(batch),
                        {}, std::move(outcome.plan), std::move(outcome.modelled), outcome.cache};
      for (std::size_t r = 0; r < all.size(); r += RankStepMetrics::kFields)
        record.ranks.push_back(RankStepMetrics::unpack(all.data() + r));
      result.steps.push_back(std::move(record));
    }
    if (after_step()) return true;
  }
  return false;
}
}  // namespace

int run_command(const RunOptions& options) {
  install_stop_handlers();
  MPI_Comm world = MPI_COMM_WORLD;
  int rank = 0, size = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);

  all_or_none(world, [&] {
    if (auto problem = comm::slurm_world_size_problem(size, std::getenv("SLURM_NTASKS"))) throw ConfigError(*problem);
    comm::parse_ranks_per_node(std::getenv(comm::kRanksPerNodeVariable));
  });
  const auto topology = comm::discover_topology(world);
  const Config config = load_config_everywhere(options, world, rank, size);
  if (rank == 0) {
    print_header(stdout, config, topology);
    std::fflush(stdout);
  }

  std::string placement_warning;
  const auto cluster = cluster_of(topology, placement_warning);
  if (rank == 0 && !placement_warning.empty()) std::fprintf(stderr, "flexcp: warning: %s\n", placement_warning.c_str());
  sched::PlannerContext context;
  all_or_none(world, [&] {
    context = run_planner_context(config, cluster);
    select_backend_device(config, topology);
  });

  // Rank 0 rewrites the results file (atomically) after every step, so a run stopped by the
  // time limit, or killed, keeps every completed step.
  RunMetadata meta{options.command_line, config.resolved_toml, utc_now_iso8601(), size, topology.nodes,
                   topology.emulated_ranks_per_node, topology.node_of_rank, topology.local_rank_of_rank,
                   "running", config.run.steps};
  std::vector<StrategyResult> results;
  bool written = false;
  auto save = [&](const char* status) {
    all_or_none(world, [&] {
      if (rank != 0) return;
      meta.status = status;
      write_results_file(config.run.output, meta, results, options.force || written);
    });
    written = true;
  };
  auto after_step = [&] {
    save("running");
    return comm::allreduce_max(world, stop_requested() ? 1.0 : 0.0) > 0.0;
  };

  comm::MpiTransport transport(world);
  bool stopped = false;
  for (const auto& name : config.run.strategies) {
    RunStrategy strategy;
    all_or_none(world, [&] { strategy = make_run_strategy(name, config, context); });
    results.push_back(StrategyResult{strategy.name, strategy.description, {}, {}});
    stopped = run_strategy(std::move(strategy), config, context, transport, world, rank, results.back(), after_step);
    if (rank == 0) {
      print_strategy_table(stdout, results.back());
      std::fflush(stdout);
    }
    if (stopped) break;
  }

  save(stopped ? "cut_short" : "complete");
  if (rank == 0) {
    print_comparison(stdout, results);
    print_footer(stdout, results, topology, config.run.output);
    if (stopped)
      std::printf("# Cut short by signal %d at a step boundary: the results file holds every completed step "
                  "(status = cut_short).\n", stop_signal());
    std::fflush(stdout);
  }
  if (stopped) return static_cast<int>(ExitCode::stopped);
  for (const auto& r : results)
    if (r.check.ran && !r.check.passed) return static_cast<int>(ExitCode::failure);
  return static_cast<int>(ExitCode::success);
}

}  // namespace flexcp
