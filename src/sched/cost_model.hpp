#pragma once
// The cost model every strategy is judged by (formulas in docs/cost-model.md). Per rank and
// micro-batch: linear-layer time from its tokens, attention time from its exact mask area,
// and the communication its group's scheme leaves exposed. Ring and needed-KV traffic is
// pipelined over P-1 stages, each hidden behind 1/P of the rank's attention work (what
// TransformerEngine's ring achieves); all-gather and all-to-all are not overlapped. A
// micro-batch takes as long as its slowest rank; a step is the sum of its micro-batches.
#include <cstdint>
#include <vector>

#include "sched/cluster.hpp"
#include "sched/hardware.hpp"
#include "sched/model_shape.hpp"
#include "sched/plan.hpp"

namespace flexcp::sched {

struct CostContext {
  Cluster cluster;
  ModelShape model;
  HardwareProfile hardware;
  // Leave out the linear layers: what `flexcp run` executes (attention only) is then what is modelled.
  bool attention_only = false;
};

struct RankCost {
  std::int64_t tokens = 0;        // summed over micro-batches
  double mask_pairs = 0.0;        // visible (query, key) pairs whose query this rank computes
  double linear_s = 0.0;
  double attention_s = 0.0;            // every attention pass of the step (recompute included)
  double attention_forward_s = 0.0;    // one forward pass, all layers
  double attention_backward_s = 0.0;   // the backward pass, all layers
  double exposed_comm_s = 0.0;
  double bytes_sent = 0.0;
  double busy_s() const { return linear_s + attention_s; }
};

struct PlanCost {
  double step_time_s = 0.0;
  std::vector<double> micro_batch_s;
  std::vector<RankCost> ranks;
  double model_flops = 0.0;      // training FLOPs of the plan's batch (linear + attention)
  double bytes_sent = 0.0;       // all ranks
  double busy_imbalance = 1.0;   // max / mean of busy_s over ranks
};

PlanCost evaluate_plan(const Plan& plan, const CostContext& context);

// One group's part of a micro-batch, per member (in group order): what evaluate_plan charges
// those ranks. Groups are disjoint, so a planner can compare layouts of one group with this alone.
std::vector<RankCost> group_member_costs(const Plan& plan, const CpGroup& group, const CostContext& context);
// The group's slowest member: busy plus exposed communication.
double group_time_s(const Plan& plan, const CpGroup& group, const CostContext& context);

// One forward and one backward pass of attention over `pairs` visible pairs of slices of
// `slice_length` (all layers): from the hardware's kernel table where it has one, else from its
// flat attention rate (backward = 2.5 forwards, flash-attention's count).
struct AttentionPassTimes {
  double forward_s = 0.0, backward_s = 0.0;
};
AttentionPassTimes attention_pass_times(double pairs, SliceMask mask, double slice_length, const CostContext& context);

// Training compute of one whole document on one rank, in seconds (no communication).
double single_rank_work_s(std::int64_t length, const CostContext& context);

// A step can go no faster: the batch's training FLOPs spread perfectly over every rank, no
// communication, plus the per-micro-batch overhead of the fewest micro-batches memory allows.
double lower_bound_step_s(const Batch& batch, const CostContext& context, std::int64_t capacity_tokens);

// Tokens one rank can hold: (usable memory - model states sharded over all ranks, ZeRO-3 -
// `reserved_bytes`, e.g. group communicators) / activation bytes per token. Throws ConfigError
// when the model states alone do not fit.
std::int64_t capacity_tokens(const ModelShape& model, const HardwareProfile& hardware, int ranks,
                             double reserved_bytes = 0.0);

}  // namespace flexcp::sched
