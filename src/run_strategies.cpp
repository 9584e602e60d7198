#include "run_strategies.hpp"

#include <algorithm>

#include "attn/ulysses_attention.hpp"
#ifdef FLEXCP_HAVE_CUDA
#include "device/inventory.hpp"
#endif
#include "common/error.hpp"
#include "sched/cost_model.hpp"

namespace flexcp {

sched::Cluster cluster_of(const comm::Topology& t, std::string& warning) {
  const int per_node = t.world_size / t.nodes;
  bool block = t.world_size % t.nodes == 0;
  for (int r = 0; block && r < t.world_size; ++r) block = t.node_of_rank[static_cast<std::size_t>(r)] == r / per_node;
  if (block) return {t.nodes, per_node};
  warning = "ranks are not spread evenly in blocks over the nodes (rank r on node r / ranks-per-node, e.g. "
            "mpirun --map-by slot, srun --distribution=block): planning as if all ranks shared one node";
  return {1, t.world_size};
}

double executor_bytes_per_token(const attn::HeadLayout& l) {
  const double q_row = double(l.q_heads) * l.head_dim, kv_row = 2.0 * l.kv_heads * l.head_dim;
  // q, dout, out, dq, out_partial; lse, lse_partial, rowsum; kv, dkv; receive/send staging (4 KV rows).
  return sizeof(float) * (5.0 * q_row + 3.0 * l.q_heads + 2.0 * kv_row + 4.0 * kv_row);
}

sched::PlannerContext run_planner_context(const Config& config, const sched::Cluster& cluster) {
  sched::CostContext cost{cluster, config.model.shape, config.hardware, true};
  cost.model.layers = 1;
  cost.model.checkpointing = sched::Checkpointing::none;  // the executor keeps its activations: nothing recomputed
  if (cost.model.activation_bytes_per_token <= 0.0)
    cost.model.activation_bytes_per_token = executor_bytes_per_token(config.model.heads);
  return {cost, sched::capacity_tokens(cost.model, cost.hardware, cluster.ranks())};
}

int ulysses_degree(const Config& config, int world_size) {
  if (config.run.ulysses_degree > 0) return config.run.ulysses_degree;
  for (int u = world_size; u > 1; --u)
    if (world_size % u == 0 && attn::ulysses_layout_problem(u, config.model.heads).empty()) return u;
  return 1;
}

void check_backend(const Config& c, int world_size) {
  if (c.run.backend != "cuda") return;
#ifndef FLEXCP_HAVE_CUDA
  (void)world_size;
  throw ConfigError("key 'run.backend': \"cuda\" is not available: this flexcp was built without the CUDA toolkit "
                    "(configure where nvcc exists, with FLEXCP_CUDA=ON)");
#else
  const auto inventory = device::cuda_inventory();
  if (inventory.devices.empty())
    throw ConfigError("key 'run.backend': \"cuda\" needs a CUDA device, and none is visible (" + inventory.why_none + ")");
  if (world_size > 1)
    throw ConfigError("key 'run.backend': \"cuda\" runs at one rank for now (multi-rank device executors are not built yet); "
                      "run with one rank, or backend = \"cpu\"");
#endif
}

void select_backend_device(const Config& c, const comm::Topology& topology) {
  if (c.run.backend != "cuda") return;
#ifdef FLEXCP_HAVE_CUDA
  device::select_device(topology.local_rank);
#else
  (void)topology;
#endif
}

void check_run_strategies(const Config& c, int world_size) {
  check_backend(c, world_size);
  if (!c.has_hardware)
    throw ConfigError("[hardware]: flexcp run plans and models every strategy with a hardware profile: set "
                      "cluster.hardware = \"hardware/cpu-dev.toml\" (relative to the input) or give a [hardware] table");
  const auto wants = [&](const char* name) {
    return std::find(c.run.strategies.begin(), c.run.strategies.end(), name) != c.run.strategies.end();
  };
  const int cp = c.run.cp_degree > 0 ? c.run.cp_degree : world_size;
  if ((wants("megatron-cp-ring") || wants("megatron-cp-allgather")) && world_size % cp != 0)
    throw ConfigError("key 'run.cp_degree': value " + std::to_string(cp) + " must divide the " +
                      std::to_string(world_size) + " ranks of the job");
  if (wants("ulysses")) {
    const int u = ulysses_degree(c, world_size);
    if (world_size % u != 0)
      throw ConfigError("key 'run.ulysses_degree': value " + std::to_string(u) + " must divide the " +
                        std::to_string(world_size) + " ranks of the job");
    if (auto problem = attn::ulysses_layout_problem(u, c.model.heads); !problem.empty())
      throw ConfigError("key 'run.ulysses_degree': " + problem);
  }
  if (wants("flexsp"))  // flexsp groups are powers of two up to the job size
    for (int g = 2; g <= world_size; g *= 2)
      if (auto problem = attn::ulysses_layout_problem(g, c.model.heads); !problem.empty())
        throw ConfigError("strategy flexsp (head-parallel groups of up to " + std::to_string(world_size) +
                          " ranks): " + problem);
}

RunStrategy make_run_strategy(const std::string& name, const Config& config, const sched::PlannerContext& context) {
  using sched::CommScheme;
  const int ranks = context.cost.cluster.ranks();
  const int cp = config.run.cp_degree > 0 ? config.run.cp_degree : ranks;
  const std::string dp = " x DP " + std::to_string(ranks / std::max(cp, 1));
  if (name == "megatron-cp-ring")
    return {name, "Megatron-LM CP ring, degree " + std::to_string(cp) + dp +
                      ": fixed-length sequences, every document zigzag-split, whole KV shards around the ring",
            sched::make_static_planner(context, cp, CommScheme::ring)};
  if (name == "megatron-cp-allgather")
    return {name, "Megatron-LM CP all-gather (Llama 3), degree " + std::to_string(cp) + dp +
                      ": KV all-gathered, dK/dV reduce-scattered over cached group communicators",
            sched::make_static_planner(context, cp, CommScheme::all_gather)};
  if (name == "ulysses") {
    const int u = ulysses_degree(config, ranks);
    return {name, "DeepSpeed-Ulysses, degree " + std::to_string(u) + " x DP " + std::to_string(ranks / u) +
                      ": all-to-all sequence <-> heads over cached group communicators",
            sched::make_static_planner(context, u, CommScheme::all_to_all)};
  }
  if (name == "flexsp")
    return {name, "FlexSP-style: power-of-two groups per batch, balanced assignment, Ulysses inside groups",
            sched::make_flexsp_planner(context)};
  if (name == "flexcp")
    return {name, "flexcp: groups of any size per batch, node-aware, whole or split per document, needed-KV exchange",
            sched::make_flexcp_planner(context)};
  throw ConfigError("unknown run strategy \"" + name + "\"");
}

}  // namespace flexcp
