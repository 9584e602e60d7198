#include "app/input/emulation_config.hpp"

#include "app/input/toml_reader.hpp"

namespace flexcp {

EmulatedNetwork read_emulation(const toml::table& table, const std::string& source) {
  TableReader in(&table, "emulation", source);
  EmulatedNetwork e;
  auto text = [&](const char* key) { return in.required(in.string(key), key, "written by scripts/emulated-cluster.sh"); };
  auto positive = [&](const char* key) { return in.required(in.number(key, 0.0), key, "a number > 0"); };
  e.profile = text("profile");
  e.profile_file = text("profile_file");
  e.dilation = positive("dilation");
  e.nodes = static_cast<int>(in.required(in.integer("nodes", 1), "nodes", "emulated nodes, >= 1"));
  e.ranks_per_node = static_cast<int>(in.required(in.integer("ranks_per_node", 1), "ranks_per_node", "ranks per node, >= 1"));
  e.namespaces = in.required(in.strings("namespaces"), "namespaces", "the cluster's network namespaces");
  e.link_gbps = positive("link_gbps");
  e.link_delay_ms = in.required(in.non_negative("link_delay_ms"), "link_delay_ms", "one-way delay in ms, >= 0");
  e.links = text("links");
  e.byte_scale = positive("byte_scale");
  e.cpu_quota = positive("cpu_quota");
  e.rank_gflops = positive("rank_gflops");
  e.calibration = text("calibration");
  in.finish();
  return e;
}

std::optional<std::string> emulation_shape_problem(const EmulatedNetwork& e, int nodes, int ranks) {
  if (e.nodes == nodes && e.nodes * e.ranks_per_node == ranks) return std::nullopt;
  return "cluster.emulation describes " + std::to_string(e.nodes) + " node(s) x " + std::to_string(e.ranks_per_node) +
         " rank(s), but this job has " + std::to_string(ranks) + " rank(s) on " + std::to_string(nodes) +
         " node(s): start it with scripts/emulated-cluster.sh run on that cluster";
}

}  // namespace flexcp
