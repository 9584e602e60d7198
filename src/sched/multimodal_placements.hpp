#pragma once
// Where a multimodal model's two components run, and what a step then costs (the LLM by its own
// flexcp plan and the cost model; the encoder by encoder_cost.hpp; the boundary between them by
// boundary_traffic.hpp):
//   llm-centric    the baseline of today's frameworks: the encoder inherits the LLM's layout, each
//                  image encoded where the LLM holds its tokens (context-parallel over the LLM's
//                  group when its document is split), micro-batch by micro-batch on the same ranks;
//                  no boundary traffic
//   colocated      both on every rank, each with its own layout: the encoder's balanced plan for
//                  the whole batch, the boundary forward, the LLM's micro-batches, the boundary
//                  backward, the encoder's backward (its work counted once, with the forward)
//   non-colocated  disjoint rank sets (the encoder on the first ranks), the batch cut into
//                  `pipeline_micro_batches` chunks that flow encoder -> boundary -> LLM, so the
//                  components overlap: a three-stage pipeline's fill and drain plus its slowest stage
// The boundary runs as one all-to-all per direction on a group communicator of the placement's
// ranks (PlacementCost::boundary_ranks, sched::boundary_ranks: the same set in every batch),
// kept in an LRU cache across batches like the LLM's groups: charge_boundary_communicator() adds
// its creation to a batch whose set is not cached (the models themselves are per batch and keep
// no state).
#include <cstdint>
#include <string>
#include <vector>

#include "sched/cluster.hpp"
#include "sched/communicator_accounting.hpp"
#include "sched/encoder_shape.hpp"
#include "sched/hardware.hpp"
#include "sched/model_shape.hpp"
#include "sched/multimodal_batch.hpp"

namespace flexcp::sched {

enum class Placement : std::uint8_t { llm_centric, colocated, non_colocated };
const char* to_string(Placement placement);

struct MultimodalContext {
  Cluster cluster;
  ModelShape llm;
  EncoderShape encoder;
  HardwareProfile hardware;
  int pipeline_micro_batches = 4;  // non-colocated
};

struct PlacementCost {
  double step_s = 0.0;
  double encoder_s = 0.0;    // slowest encoder rank, whole batch (forward + backward)
  double boundary_s = 0.0;   // forward + backward
  double llm_s = 0.0;        // the LLM's plan alone
  double boundary_bytes = 0.0;  // forward + backward, all ranks
  double encoder_bytes = 0.0;   // context-parallel traffic of split image sequences
  double llm_bytes = 0.0;       // the LLM plan's traffic
  double model_flops = 0.0;     // encoder + projector + LLM, training
  double llm_tokens = 0.0;
  int encoder_ranks = 0, llm_ranks = 0;
  int llm_micro_batches = 0;
  double split_sequences = 0;   // encoder sequences spread over more than one rank
  std::vector<int> boundary_ranks;   // the boundary's group (empty: nothing crosses ranks)
  int boundary_exchanging_ranks = 0; // of them, those that send or receive in this batch
  double boundary_create_s = 0.0;    // creating its communicator (charge_boundary_communicator)
  double boundary_communicators_created = 0.0;
  double floor_s = 0.0;  // colocated: the least step of any colocated layout (colocated_floor_s); 0 elsewhere
};

PlacementCost model_llm_centric(const MultimodalBatch& batch, const MultimodalContext& context);
PlacementCost model_colocated(const MultimodalBatch& batch, const MultimodalContext& context);
// The least step any colocated layout of the batch can take under the model, whatever either
// component's plan: the encoder's compute with every sequence whole on one rank (its cheapest:
// a split slice never runs at a higher rate) spread evenly over every rank, plus the LLM's lower
// bound (plan_bound.hpp, with every rank's memory less the encoder's states), and no boundary.
// llm-centric's step over it is the most colocation can gain (model_colocated sets floor_s).
double colocated_floor_s(const MultimodalBatch& batch, const MultimodalContext& context);

// `encoder_ranks`: whole nodes (a multiple of ranks_per_node) on a multi-node machine, any count
// below the node's ranks on one node. Throws ConfigError when either side cannot hold its part.
PlacementCost model_non_colocated(const MultimodalBatch& batch, const MultimodalContext& context, int encoder_ranks);

// Charges `cost` (one batch of one placement, batches in stream order) the creation of the
// boundary's group communicator when `communicators` (this placement's cache, no pre-created
// sets) does not hold its rank set: one creation round (hardware.communicator_create_s), added to
// the boundary's time and to the step (non-colocated too: the group exists before the first chunk
// crosses, so the pipeline does not hide it).
void charge_boundary_communicator(PlacementCost& cost, CommunicatorAccounting& communicators, const HardwareProfile& hardware);

// The LLM's machine when the encoder holds the first `encoder_ranks` ranks (whole nodes on a
// multi-node machine): what its plan is made for, non-colocated.
Cluster non_colocated_llm_cluster(const Cluster& cluster, int encoder_ranks);

// Encoder rank counts worth trying for non-colocated: whole nodes on a multi-node machine (1 to
// nodes - 1), single ranks (1 to ranks - 1) on one node.
std::vector<int> encoder_rank_choices(const Cluster& cluster);

}  // namespace flexcp::sched
