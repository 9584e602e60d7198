#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>

#include "app/all_or_none.hpp"
#include "app/input/machine_memory.hpp"
#include "app/memory_budget.hpp"
#include "app/commands.hpp"
#include "app/output/comparison.hpp"
#include "app/output/phase_comparison.hpp"
#include "app/output/progress.hpp"
#include "app/output/report.hpp"
#include "app/output/run_results_file.hpp"
#include "app/run/backend.hpp"
#include "app/run/multimodal_run_command.hpp"
#include "app/run/plan_step.hpp"
#include "app/run/run_checkpoint.hpp"
#include "app/run/run_input.hpp"
#include "app/run/run_setup.hpp"
#include "app/run/stop_signal.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/launch_check.hpp"
#include "common/clock.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp {
namespace {

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
bool run_strategy(RunStrategy strategy, const Config& config, const sched::PlannerContext& context, comm::World& world,
                  comm::SynchronizedStart& start, ExecutionBackend& backend, StrategyResult& result,
                  const std::function<bool()>& after_step, Progress& progress) {
  // Each strategy pays for its own communicators: a fresh cache, freed before the next strategy.
  comm::CommunicatorCache cache(world.rank(), static_cast<std::size_t>(config.run.comm_cache_size),
                                backend.data->group_factory());
  for (const auto& layer : strategy.standing) cache.make_standing(layer);
  sched::CommunicatorAccounting communicators(sched::rank_sets_of(strategy.standing),
                                              static_cast<std::size_t>(config.run.comm_cache_size));
  const StepContext on{world, backend.data->transport(), cache, *backend.kernels, communicators, start};
  const auto total = config.run.warmup_steps + config.run.steps;
  for (std::int64_t step = 0; step < total; ++step) {
    const auto batch = batch_for_step(config, static_cast<std::uint64_t>(step));
    const auto activation_seed = sched::splitmix64(config.batch.seed ^ (0xac71ULL << 32) ^ static_cast<std::uint64_t>(step));
    const bool measured = step >= config.run.warmup_steps;
    const bool check = config.run.check && step == config.run.warmup_steps;
    auto outcome = run_plan_step(config, strategy, context, on, batch, activation_seed, check, step);
    if (world.rank() == 0) {
      const auto& p = outcome.plan;
      progress.step_done(strategy.name, step, total, !measured, batch.total_tokens(),
                         "micro-batches " + std::to_string(p.micro_batches) + ", groups " + std::to_string(p.groups) +
                             ", split documents " + std::to_string(p.split_documents) + ", communicators " +
                             std::to_string(outcome.cache.hits) + " cached / " + std::to_string(outcome.cache.misses) +
                             " created");
    }
    const auto packed = outcome.metrics.pack();
    const auto all = world.gather_to_root(std::vector<double>(packed.begin(), packed.end()));
    if (outcome.check) result.check = *outcome.check;
    if (measured && world.rank() == 0) {
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

int run_command(const RunOptions& options, comm::MpiWorld& world) {
  install_stop_handlers();
  const int rank = world.rank(), size = world.size();
  all_or_none(world, [&] {
    if (auto problem = comm::slurm_world_size_problem(size, std::getenv("SLURM_NTASKS"))) throw ConfigError(*problem);
    comm::parse_ranks_per_node(std::getenv(comm::kRanksPerNodeVariable));
  });
  const auto topology = world.topology();
  const Config config = load_run_input(options, world);

  std::string placement_warning;
  const auto cluster = cluster_of(topology, placement_warning);
  sched::PlannerContext context;
  ExecutionBackend backend;
  all_or_none(world, [&] {
    // Before anything is allocated for the run: every node checks its own memory.
    int on_node = 0;
    for (int r = 0; r < size; ++r) on_node += topology.node_of_rank[static_cast<std::size_t>(r)] == topology.node ? 1 : 0;
    require_memory(run_memory_budget(config, size, on_node, topology.node == topology.node_of_rank[0]), machine_memory());
    if (config.emulation)
      if (auto problem = emulation_shape_problem(*config.emulation, topology.nodes, size)) throw ConfigError(*problem);
    context = run_planner_context(config, cluster);
    backend = open_backend(config, world, topology);
  });
  if (rank == 0) {
    print_header(stdout, config, topology, backend.description());
    std::fflush(stdout);
    if (!placement_warning.empty()) std::fprintf(stderr, "flexcp: warning: %s\n", placement_warning.c_str());
  }

  RunMetadata meta{options.command_line, config.resolved_toml, utc_now_iso8601(), size, topology.nodes,
                   topology.emulated_ranks_per_node, topology.node_of_rank, topology.local_rank_of_rank,
                   "running", config.run.steps, config.emulation};
  all_or_none(world, [&] {
    if (rank == 0) meta.provenance = collect_provenance(topology.host_of_rank);  // only rank 0 writes the file
  });
  if (config.multimodal) return run_multimodal_command(options, world, config, cluster, backend, meta);

  // Rank 0 appends every measured step to the results file and flushes it (RunResultsFile), so
  // a run stopped by the time limit, or killed, keeps every completed step; the checkpoint saves
  // after each step and has the ranks agree whether a signal asked them to stop.
  std::optional<RunResultsFile> file;
  all_or_none(world, [&] {
    // The path was checked before the run (check_output_path); what goes wrong from here on
    // (the directory removed, the disk full, a file that appeared meanwhile) is exit 1.
    if (rank == 0) file.emplace(config.run.output, meta, options.force);
  });
  std::vector<StrategyResult> results;
  RunCheckpoint checkpoint(world, meta, options.force, [&](bool /*force: the file was opened with it*/) {
    if (meta.status == "running") file->update(results);
    else file->finish(results, meta.status.c_str());
  });
  auto after_step = [&] { return checkpoint.after_step(); };

  Progress progress(stderr, options.verbosity,
                    static_cast<std::int64_t>(config.run.strategies.size()) * (config.run.warmup_steps + config.run.steps));
  comm::SynchronizedStart start(world);
  bool stopped = false;
  for (const auto& name : config.run.strategies) {
    RunStrategy strategy;
    all_or_none(world, [&] { strategy = make_run_strategy(name, config, context); });
    results.push_back(StrategyResult{strategy.name, strategy.description, {}, {}});
    stopped = run_strategy(std::move(strategy), config, context, world, start, backend, results.back(), after_step, progress);
    if (stopped) break;  // the file's status comes before any printing (RunCheckpoint::finish)
    if (rank == 0) {
      print_strategy_table(stdout, results.back());
      std::fflush(stdout);
    }
  }

  checkpoint.finish(stopped);
  if (rank == 0) {
    if (stopped) print_strategy_table(stdout, results.back());
    print_comparison(stdout, results);
    print_phase_comparison(stdout, results, config.emulation);
    print_footer(stdout, results, topology, config.run.output);
    std::fflush(stdout);
  }
  if (stopped) return static_cast<int>(ExitCode::stopped);
  for (const auto& r : results)
    if (r.check.ran && !r.check.passed) return static_cast<int>(ExitCode::failure);
  return static_cast<int>(ExitCode::success);
}

}  // namespace flexcp
