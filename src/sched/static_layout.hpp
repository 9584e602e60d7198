#pragma once
// The static layouts people run today, each as its authors ship it (docs/planner.md):
//   Megatron-LM CP, degree c, with each of its cp_comm_type values: p2p (KV ring), all_gather,
//     a2a (TransformerEngine's all-to-all: heads split c ways, no replication), a2a+p2p
//     (hierarchical_context_parallel_sizes = [inner, c / inner]: all-to-all inside a node, ring
//     across nodes); zigzag 2c chunks, THD padding of every document to a multiple of 2c
//   DeepSpeed-Ulysses, degree u (heads split u ways; KV heads replicated when u > H_kv)
//   USP (long-context-attention): Ulysses u inside x ring r across, degree u r
// Every layout packs each micro-batch into exactly one sequence per data-parallel replica.
#include <string>
#include <vector>

#include "sched/plan.hpp"
#include "sched/planner.hpp"

namespace flexcp::sched {

enum class StaticFamily : std::uint8_t { megatron, ulysses, usp };

struct StaticLayout {
  StaticFamily family = StaticFamily::megatron;
  CommScheme comm = CommScheme::ring;
  int degree = 1;  // ranks per group (CP or SP degree); DP = ranks / degree
  int inner = 1;   // hierarchical: all-to-all block (a2a+p2p's first level, USP's Ulysses degree)

  // "megatron-cp-ring-c8", "megatron-cp-a2a+p2p-c64", "ulysses-u8", "usp-u4-r16".
  std::string name() const;
  // In words, with the DP degree: what a results file names beside every ratio.
  std::string description(int ranks) const;
  // Zigzag layouts (every family but plain Ulysses) pad split documents to 2 x degree.
  int pad_multiple() const;
};

// Why DeepSpeed-Ulysses (and FlexSP's groups) cannot split this model's heads `u` ways, or "":
// u must divide H_q, and divide H_kv or be a multiple of it (KV heads are then replicated).
std::string ulysses_heads_problem(const ModelShape& model, int u);

// Why `layout` cannot run on this machine and model, or "" when it can: the degree must divide
// the ranks; head splits must be whole (Ulysses: degree divides H_q, and divides H_kv or is a
// multiple of it; TransformerEngine's a2a and a2a+p2p: the all-to-all size divides H_q and H_kv).
std::string layout_problem(const PlannerContext& context, const StaticLayout& layout);

// Every layout of `family` that can run here: Megatron every comm type at every power-of-two
// degree dividing the ranks, or at `megatron_degrees` when given (a2a+p2p only across nodes,
// with the node, or the largest block the KV heads allow, as its inner level); Ulysses every
// valid degree >= 2; USP every valid Ulysses degree >= 2 up to a node times every ring degree >= 2.
std::vector<StaticLayout> candidate_layouts(const PlannerContext& context, StaticFamily family,
                                            const std::vector<int>& megatron_degrees = {});

std::unique_ptr<Planner> make_static_planner(const PlannerContext& context, const StaticLayout& layout);

}  // namespace flexcp::sched
