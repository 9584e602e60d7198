#include <algorithm>
#include <cstdio>

#include "app/all_or_none.hpp"
#include "app/input/machine_memory.hpp"
#include "common/clock.hpp"
#include "app/commands.hpp"
#include "app/input/config.hpp"
#include "app/output/multimodal_plan_file.hpp"
#include "app/output/plan_report.hpp"
#include "app/plan/multimodal_study.hpp"
#include "app/plan/plan_study.hpp"
#include "app/output/results_file.hpp"

namespace flexcp {

namespace {
RunMetadata plan_metadata(const PlanOptions& options, const Config& config, const sched::Cluster& cluster) {
  RunMetadata meta{options.command_line, config.resolved_toml, utc_now_iso8601(), cluster.ranks(), cluster.nodes, 0, {}, {}};
  for (int r = 0; r < cluster.ranks(); ++r) {
    meta.node_of_rank.push_back(cluster.node_of(r));
    meta.local_rank.push_back(r % cluster.ranks_per_node);
  }
  // The planner runs on rank 0 alone: its host is the one that made the file.
  meta.provenance = collect_provenance({local_host_name()});
  return meta;
}
}  // namespace

int plan_command(const PlanOptions& options, comm::World& world) {
  // The simulator is a single-process program; under mpirun only rank 0 works.
  all_or_none(world, [&] {
    if (world.rank() != 0) return;
    toml::table root = parse_toml_file(options.input, "input file");
    const auto input_dir = std::filesystem::path(options.input).parent_path();
    // Overrides first, includes after: --set may name another included file (model.file,
    // cluster.hardware) or any key of one (hardware.intra_node_gbps), and wins over the file.
    apply_overrides(root, options.overrides);
    if (options.nodes > 0) apply_override(root, "cluster.nodes=" + std::to_string(options.nodes));
    if (options.ranks_per_node > 0) apply_override(root, "cluster.ranks_per_node=" + std::to_string(options.ranks_per_node));
    if (options.batches > 0) apply_override(root, "plan.batches=" + std::to_string(options.batches));
    if (options.extreme) apply_override(root, "plan.extreme=true");
    if (!options.output.empty()) apply_override(root, "plan.output=" + options.output);
    if (!options.lengths.empty()) {
      if (auto* batch = root["batch"].as_table()) batch->erase("lengths");
      const auto absolute = std::filesystem::absolute(options.lengths).string();
      apply_override(root, "batch.dataset=" + absolute);
    }
    const auto origins = resolve_includes(root, input_dir, options.input);
    Config config = config_from_table(root, options.input, input_dir, true, 1, origins);
    if (options.planner == "optimal")
      for (const char* name : {"flexcp", "optimal", "bound"})
        if (std::find(config.plan.strategies.begin(), config.plan.strategies.end(), name) == config.plan.strategies.end())
          config.plan.strategies.push_back(name);
    if (!config.has_hardware)
      throw ConfigError(options.input + ": planning needs a hardware profile: set cluster.hardware = \"hardware/NAME.toml\" "
                                        "or give a [hardware] table");
    if (!config.batch.uses_dataset() && config.plan.extreme_fraction > 0.0)
      throw ConfigError(options.input + ": plan.extreme needs batch.dataset (extreme batches are drawn from a distribution)");
    if (!config.plan.output.empty()) check_output_path(config.plan.output, options.force);

    require_memory(plan_memory_budget(config), machine_memory());
    if (config.multimodal) {
      const auto study = run_multimodal_study(config);
      print_multimodal_study(stdout, study, config);
      if (!config.plan.output.empty()) {
        write_multimodal_plan_file(config.plan.output, study, plan_metadata(options, config, study.cluster), config);
        std::printf("# Results written to %s\n", config.plan.output.c_str());
      }
      std::fflush(stdout);
      return;
    }
    Progress progress(stderr, options.verbosity, config.plan.batches, "batch");
    const auto study = run_plan_study(config, &progress);
    print_plan_study(stdout, study, config);
    if (!config.plan.output.empty()) {
      const auto meta = plan_metadata(options, config, study.cluster);
      write_plan_file(config.plan.output, study, meta, config);
      std::printf("# Results written to %s\n", config.plan.output.c_str());
    }
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace flexcp
