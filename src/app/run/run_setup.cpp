#include "app/run/run_setup.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "app/run/backend.hpp"
#include "app/strategies.hpp"
#include "attn/ulysses_attention.hpp"
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
  sched::PlannerContext context{cost, sched::capacity_tokens(cost.model, cost.hardware, cluster.ranks())};
  context.comm_cache_size = static_cast<std::size_t>(config.run.comm_cache_size);
  return context;
}

int ulysses_degree(const Config& config, int world_size) {
  if (config.run.ulysses_degree > 0) return config.run.ulysses_degree;
  for (int u = world_size; u > 1; --u)
    if (world_size % u == 0 && attn::ulysses_layout_problem(u, config.model.heads).empty()) return u;
  return 1;
}

void check_run_strategies(const Config& c, int world_size) {
  check_backend_config(c, world_size);
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
  const auto* row = find_strategy(name);
  if (row == nullptr || !row->runs) throw ConfigError("unknown run strategy \"" + name + "\"");
  auto standing = standing_communicators(*row, context);
  if (row->planner != PlannerKind::static_degree)
    return {name, row->summary, make_planner(*row, context, 0), std::move(standing)};
  const int ranks = context.cost.cluster.ranks();
  const int degree = row->scheme == sched::CommScheme::all_to_all ? ulysses_degree(config, ranks)
                     : config.run.cp_degree > 0                   ? config.run.cp_degree
                                                                  : ranks;
  return {name, row->summary + "; degree " + std::to_string(degree) + " x DP " + std::to_string(ranks / std::max(degree, 1)),
          make_planner(*row, context, degree), std::move(standing)};
}

}  // namespace flexcp

namespace flexcp {
namespace {
// Bytes per document of the batch, its plan and the rank's program, which every rank builds
// for the whole batch (lengths, offsets, assignment, slices, KV pieces): a generous bound.
constexpr double kBytesPerDocument = 512.0;

}  // namespace

double documents_per_batch(const Config& c) {
  const auto& b = c.batch;
  const auto per_batch = [&](double tokens_of_all, double samples) {
    return std::ceil(static_cast<double>(b.tokens_per_batch) / std::max(tokens_of_all / std::max(samples, 1.0), 1.0)) + 1.0;
  };
  if (c.multimodal) {
    double tokens = 0.0, images = 0.0;
    for (const auto& sample : c.multimodal->samples)
      for (const auto& segment : sample.segments) {
        tokens += segment.is_image() ? 1.0 : static_cast<double>(segment.text_tokens);
        images += segment.is_image() ? 1.0 : 0.0;
      }
    const double samples = static_cast<double>(c.multimodal->samples.size());
    return per_batch(tokens, samples) * (1.0 + images / std::max(samples, 1.0));
  }
  if (!b.uses_dataset()) return static_cast<double>(b.lengths.size());
  double sum = 0.0;
  for (auto l : b.samples) sum += static_cast<double>(l);
  return per_batch(sum, static_cast<double>(b.samples.size()));
}

std::string batch_size_key(const Config& c) {
  const auto& b = c.batch;
  return b.uses_dataset() || c.multimodal ? "batch.tokens_per_batch = " + std::to_string(b.tokens_per_batch)
                          : "batch.lengths (" + std::to_string(b.tokens_per_batch) + " tokens)";
}

MemoryBudget run_memory_budget(const Config& c, int world_size, int ranks_on_node, bool holds_rank0) {
  const double tokens = static_cast<double>(c.batch.tokens_per_batch);
  const double per_rank_tokens = std::ceil(tokens / world_size);
  const double n = ranks_on_node;
  const auto key = batch_size_key(c);
  MemoryBudget b{"flexcp run on this node (" + std::to_string(ranks_on_node) + " of " + std::to_string(world_size) +
                     " ranks)",
                 {},
                 "lower it, or spread the ranks over more nodes"};
  b.shares.push_back({"the executor's buffers (" + std::to_string(static_cast<long long>(per_rank_tokens)) +
                          " tokens per rank)",
                      key, n * per_rank_tokens * executor_bytes_per_token(c.model.heads)});
  b.shares.push_back({"the batch, plan and program of every rank (about " +
                          std::to_string(static_cast<long long>(documents_per_batch(c))) + " documents)",
                      key, n * documents_per_batch(c) * kBytesPerDocument});
  b.shares.push_back({"the dataset's samples on every rank", "batch.dataset",
                      n * 8.0 * static_cast<double>(c.batch.samples.size())});
  if (holds_rank0 && c.run.check) {
    // Rank 0 gathers the whole batch's results (fp32) and computes the float64 reference from
    // whole-batch fp32 inputs: O, dQ (q rows), dK, dV (kv rows), the inputs and the LSE.
    const double q = double(c.model.heads.q_heads) * c.model.heads.head_dim;
    const double kv = double(c.model.heads.kv_heads) * c.model.heads.head_dim;
    b.shares.push_back({"rank 0's correctness check (the whole batch, float64 reference)", "run.check = true with " + key,
                        tokens * (4.0 * (2 * q + 2 * kv) + 4.0 * (2 * q + 2 * kv) + 8.0 * (2 * q + 2 * kv) +
                                  8.0 * c.model.heads.q_heads)});
  }
  return b;
}

}  // namespace flexcp
