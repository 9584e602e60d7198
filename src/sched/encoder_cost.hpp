#pragma once
// The encoder's cost on each rank for a layout of its image sequences (token_layout.hpp). A rank
// holding q of a sequence's n patches computes q x n attention pairs (bidirectional: every patch
// sees every patch of its sequence), its q patches' linear layers, and the projector for its LLM
// tokens. A sequence spread over g > 1 ranks is context-parallel over them, all-gathered as
// attn::EncoderAttention executes it (the bytes are exactly the executor's): each member sends
// its K and V to the other g - 1 members, and in the backward the dK/dV partials of their
// patches back to them; not overlapped with attention, like the LLM's all-gather scheme.
#include <cstdint>
#include <vector>

#include "sched/cluster.hpp"
#include "sched/encoder_shape.hpp"
#include "sched/hardware.hpp"
#include "sched/token_layout.hpp"

namespace flexcp::sched {

struct EncoderCostContext {
  Cluster cluster;          // the whole machine (node_of for the ring's links)
  EncoderShape encoder;
  std::int64_t llm_hidden = 1;  // the projector's output width
  HardwareProfile hardware;
};

struct EncoderRankCost {
  double patches = 0.0;
  double compute_s = 0.0;       // linear + attention + projector, forward and backward
  double exposed_comm_s = 0.0;  // ring traffic of split sequences not hidden behind attention
  double bytes_sent = 0.0;
  double time_s() const { return compute_s + exposed_comm_s; }
};

// Per rank of the machine.
std::vector<EncoderRankCost> encoder_costs(const ImageTokenLayout& layout, const MultimodalBatch& batch,
                                           const EncoderCostContext& context);

// Training compute of one whole sequence of `patches` (giving `llm_tokens`) on one rank, seconds.
double sequence_work_s(std::int64_t patches, std::int64_t llm_tokens, const EncoderCostContext& context);

// Model FLOPs of a step's encoder and projector (forward + backward, no recomputation).
double encoder_model_flops(const MultimodalBatch& batch, const EncoderShape& encoder, std::int64_t llm_hidden);

}  // namespace flexcp::sched
