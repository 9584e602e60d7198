#pragma once
// The strategies `flexcp run` executes, each a planner over the same Plan type (src/sched/),
// set up for the job's real topology, the input's model and hardware profile, and the memory
// the executor needs per token.
#include <memory>
#include <string>

#include "comm/topology.hpp"
#include "config.hpp"
#include "sched/planner.hpp"

namespace flexcp {

struct RunStrategy {
  std::string name;
  std::string description;
  std::unique_ptr<sched::Planner> planner;
};

// The machine the planner sees: the discovered nodes when they are equal and block-mapped
// (rank r on node r / ranks_per_node); otherwise one node of every rank, with `warning` set.
sched::Cluster cluster_of(const comm::Topology& topology, std::string& warning);

// Bytes of fp32 buffers the host executor holds per local token (inputs, outputs, gradients,
// partials and staging), the memory model of a run when [model] gives no activation_bytes_per_token.
double executor_bytes_per_token(const attn::HeadLayout& layout);

// Planning context of a run: attention only, one layer (what the executor runs).
sched::PlannerContext run_planner_context(const Config& config, const sched::Cluster& cluster);

// Rank 0, before anything runs: every run strategy is possible on `world_size` ranks with this
// input (throws ConfigError naming the key otherwise).
void check_run_strategies(const Config& config, int world_size);

// backend "cuda": this rank's device, chosen from its local rank (no per-task GPU binding needed).
void select_backend_device(const Config& config, const comm::Topology& topology);

RunStrategy make_run_strategy(const std::string& name, const Config& config, const sched::PlannerContext& context);

// run.ulysses_degree, or the largest degree dividing the ranks that the heads allow.
int ulysses_degree(const Config& config, int world_size);

}  // namespace flexcp
