#include <cstdio>

#include "app/all_or_none.hpp"
#include "app/input/machine_memory.hpp"
#include "common/clock.hpp"
#include "app/commands.hpp"
#include "app/input/config.hpp"
#include "app/output/plan_report.hpp"
#include "app/plan/plan_study.hpp"
#include "app/output/results_file.hpp"

namespace flexcp {

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
    const Config config = config_from_table(root, options.input, input_dir, true, 1, origins);
    if (!config.has_hardware)
      throw ConfigError(options.input + ": planning needs a hardware profile: set cluster.hardware = \"hardware/NAME.toml\" "
                                        "or give a [hardware] table");
    if (!config.batch.uses_dataset() && config.plan.extreme_fraction > 0.0)
      throw ConfigError(options.input + ": plan.extreme needs batch.dataset (extreme batches are drawn from a distribution)");
    if (!config.plan.output.empty()) check_output_path(config.plan.output, options.force);

    require_memory(plan_memory_budget(config), machine_memory());
    Progress progress(stderr, options.verbosity, config.plan.batches, "batch");
    const auto study = run_plan_study(config, &progress);
    print_plan_study(stdout, study, config);
    if (!config.plan.output.empty()) {
      RunMetadata meta{options.command_line, config.resolved_toml, utc_now_iso8601(), study.cluster.ranks(), study.cluster.nodes, 0,
                       {}, {}};
      for (int r = 0; r < study.cluster.ranks(); ++r) {
        meta.node_of_rank.push_back(study.cluster.node_of(r));
        meta.local_rank.push_back(r % study.cluster.ranks_per_node);
      }
      write_plan_file(config.plan.output, study, meta, config);
      std::printf("# Results written to %s\n", config.plan.output.c_str());
    }
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace flexcp
