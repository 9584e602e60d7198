#pragma once
// How `flexcp run` sets up its strategies: the machine the planners see, the planning context
// (attention only, one layer: what the executor runs), the checks that every listed strategy
// can run on this job, and each strategy's planner from the strategy table.
#include <memory>
#include <string>

#include "app/input/config.hpp"
#include "app/memory_budget.hpp"
#include "comm/topology.hpp"
#include "sched/planner.hpp"
#include "sched/standing_communicators.hpp"

namespace flexcp {

struct RunStrategy {
  std::string name;
  std::string description;  // the table's summary with this run's degrees
  std::unique_ptr<sched::Planner> planner;
  sched::CommunicatorLayers standing;  // made at the strategy's start (standing_communicators)
};

// The machine the planner sees: the discovered nodes when they are equal and block-mapped
// (rank r on node r / ranks_per_node); otherwise one node of every rank, with `warning` set.
sched::Cluster cluster_of(const comm::Topology& topology, std::string& warning);

// Bytes of fp32 buffers the executor holds per local token (inputs, outputs, gradients,
// partials and staging), the memory model of a run when [model] gives no activation_bytes_per_token.
double executor_bytes_per_token(const attn::HeadLayout& layout);

// Planning context of a run: attention only, one layer (what the executor runs).
sched::PlannerContext run_planner_context(const Config& config, const sched::Cluster& cluster);

// Rank 0, before anything runs: every run strategy and the backend are possible on `world_size`
// ranks with this input (throws ConfigError naming the key otherwise).
void check_run_strategies(const Config& config, int world_size);

RunStrategy make_run_strategy(const std::string& name, const Config& config, const sched::PlannerContext& context);

// "batch.tokens_per_batch = N" or "batch.lengths (N tokens)": the key that sizes a batch.
std::string batch_size_key(const Config& config);

// Documents in one batch, from above (memory budgets): the explicit lengths, or the token budget
// over the mean length of the dataset's documents, or of the multimodal samples' (their text
// tokens plus one per image, less than any encoder gives) with each image counted as a document
// more, since the encoder's plan holds a record per image as the LLM's does per document.
double documents_per_batch(const Config& config);

// What the ranks of one node will allocate for this input before and during a step (executor
// buffers, the batch and its plan, the samples, and on rank 0's node the correctness check),
// each share with its driving key: checked against the machine before the first step.
MemoryBudget run_memory_budget(const Config& config, int world_size, int ranks_on_node, bool holds_rank0);

// run.ulysses_degree, or the largest degree dividing the ranks that the heads allow.
int ulysses_degree(const Config& config, int world_size);

}  // namespace flexcp
