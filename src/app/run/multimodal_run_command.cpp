#include "app/run/multimodal_run_command.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "app/all_or_none.hpp"
#include "app/output/multimodal_run_file.hpp"
#include "app/output/multimodal_run_report.hpp"
#include "app/output/progress.hpp"
#include "app/run/multimodal_placement.hpp"
#include "app/run/run_checkpoint.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp {

int run_multimodal_command(const RunOptions& options, comm::MpiWorld& world, const Config& config,
                           const sched::Cluster& cluster, ExecutionBackend& backend, RunMetadata& meta) {
  const int rank = world.rank();
  const auto& mm = *config.multimodal;
  std::vector<sched::Placement> placements;
  int encoder_ranks = 0;
  std::unique_ptr<sched::MultimodalSampler> sampler;
  all_or_none(world, [&] {
    placements = run_placements(config, world.size());
    sampler = std::make_unique<sched::MultimodalSampler>(mm.samples, mm.encoder.images, config.batch.tokens_per_batch,
                                                         config.batch.seed);
    if (std::find(placements.begin(), placements.end(), sched::Placement::non_colocated) != placements.end())
      encoder_ranks = run_encoder_ranks(config, cluster);
  });

  std::vector<MultimodalPlacementResult> results;
  RunCheckpoint checkpoint(world, meta, options.force,
                           [&](bool force) { write_multimodal_run_file(config.run.output, meta, config, results, force); });

  const auto total = config.run.warmup_steps + config.run.steps;
  Progress progress(stderr, options.verbosity, static_cast<std::int64_t>(placements.size()) * total);
  bool stopped = false;
  for (const auto placement : placements) {
    std::unique_ptr<MultimodalPlacementRun> run;
    all_or_none(world, [&] { run = std::make_unique<MultimodalPlacementRun>(placement, encoder_ranks, config, cluster, world, backend); });
    results.push_back(run->result_header());
    auto& result = results.back();
    for (std::int64_t step = 0; step < total && !stopped; ++step) {
      const auto batch = sampler->batch(static_cast<std::uint64_t>(step));
      const auto seed = sched::splitmix64(config.batch.seed ^ (0xac71ULL << 32) ^ static_cast<std::uint64_t>(step));
      const bool measured = step >= config.run.warmup_steps;
      const bool check = config.run.check && step == config.run.warmup_steps;
      auto outcome = run->step(batch, seed, check, step);
      if (outcome.check) result.check = *outcome.check;
      const auto packed = outcome.metrics.pack();
      const auto all = world.gather_to_root(std::vector<double>(packed.begin(), packed.end()));
      if (rank == 0) {
        MultimodalStepRecord record{step, batch.llm.total_tokens(), batch.image_llm_tokens(),
                                    static_cast<std::int64_t>(batch.images.size()), {}};
        for (std::size_t r = 0; r < all.size(); r += MultimodalRankMetrics::kFields)
          record.ranks.push_back(MultimodalRankMetrics::unpack(all.data() + r));
        if (result.bytes_mismatch.empty()) result.bytes_mismatch = record.bytes_mismatch();
        progress.step_done(result.name, step, total, !measured, record.llm_tokens,
                           std::to_string(record.images) + " images, " + std::to_string(record.image_tokens) +
                               " image tokens; boundary " + std::to_string(static_cast<long long>(component_bytes(record, 1))) +
                               " bytes");
        if (measured) result.steps.push_back(std::move(record));
      }
      stopped = checkpoint.after_step();
    }
    if (stopped) break;
    if (rank == 0) {
      print_multimodal_placement_table(stdout, result);
      std::fflush(stdout);
    }
  }

  checkpoint.finish(stopped);
  if (rank == 0) {
    if (stopped) print_multimodal_placement_table(stdout, results.back());
    print_multimodal_comparison(stdout, results, config.run.output);
    std::fflush(stdout);
  }
  if (stopped) return static_cast<int>(ExitCode::stopped);
  // The verdicts (check, bytes) are rank 0's; every rank returns the same code.
  double failed = 0.0;
  if (rank == 0)
    for (const auto& r : results) failed = std::max(failed, r.passed() ? 0.0 : 1.0);
  return world.max_over_ranks(failed) > 0.0 ? static_cast<int>(ExitCode::failure) : static_cast<int>(ExitCode::success);
}

}  // namespace flexcp
