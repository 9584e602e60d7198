#pragma once
// One multimodal training step's attention path, executed on this rank, forward and backward:
// the encoder's attention layer under the encoder's layout -> the projector on the image tokens
// this rank's encoder made -> the boundary exchange into the LLM's layout -> the LLM's
// document-masked attention under its flexcp plan (the plan's executors, text tokens with the
// synthetic activations of a plain run, image tokens with the projector's outputs) -> back
// through the LLM, the boundary, the projector, to the encoder's dQ/dK/dV.
//   - The projector's output for an image token is that token's LLM query, key and value
//     ([q: H_q d][k: H_kv d][v: H_kv d]): the LLM's QKV projection folded into the projector's
//     last layer, so the chain has no layer that is not executed.
//   - The projector's input for an image token is the encoder output of its `merge` patches side
//     by side; class tokens are dropped (LLaVA), so their output gradient is zero.
//   - The encoder follows either its own layout or the LLM's (LLM-centric), on every rank
//     (colocated) or on ranks of its own (non-colocated: the LLM on the last ranks, over its own
//     transport; the micro-batch overlap of the two is modelled, not executed: one step here).
//     Written over Kernels and Transport, so every backend runs it; the boundary is one
//     all-to-all per direction on a cached group communicator (attn/boundary_exchange.hpp).
#include <cstdint>
#include <vector>

#include "app/run/plan_execution.hpp"
#include "attn/boundary_exchange.hpp"
#include "attn/encoder_attention.hpp"
#include "attn/projector.hpp"
#include "sched/boundary_program.hpp"

namespace flexcp {

struct MultimodalStepInput {
  const sched::MultimodalBatch& batch;
  const sched::ImageTokenLayout& encoder_layout;
  const sched::Plan& llm_plan;  // over the LLM's ranks, numbered from 0
  int llm_first_rank = 0;       // world rank of the LLM's rank 0
  attn::HeadLayout encoder_heads, llm_heads;
  int merge = 1, class_tokens = 0;
  const attn::ProjectorWeights& projector;  // in: merge * H_e * d_e, out: (H_q + 2 H_kv) d
  std::uint64_t seed = 0;
};

// Per component, this rank: wall seconds and bytes it sent.
struct ComponentCost {
  double seconds = 0.0, bytes_sent = 0.0;
};

struct MultimodalStep {
  attn::EncoderShare encoder;                             // this rank's patch rows
  std::vector<float> encoder_out, encoder_dq, encoder_dk, encoder_dv;  // [rows][H_e][d_e]
  attn::ProjectorWeights projector_grad;                  // this rank's part (sum over ranks = the gradient)
  sched::BoundaryProgram boundary;
  std::vector<int> boundary_ranks;                        // the boundary's group (empty: nothing crosses ranks)
  PlanExecution llm;                                      // results for every LLM token of this rank
  ComponentCost encoder_cost, boundary_cost, llm_cost;    // encoder includes the projector
};

// Encoder activations (query 0, key 1, value 2) of patch `patch` of an image sequence: a hash,
// so every rank makes its own and the reference the same. Uniform in [-1, 1).
float encoder_input(std::uint64_t seed, int tensor, std::int64_t image, std::int64_t sequence, std::int64_t patch, int head,
                    int dim);

// The LLM's communication: a transport and communicator cache over its ranks (the world when it
// runs on every rank), both null on a rank outside them.
struct LlmComm {
  comm::Transport* transport = nullptr;
  comm::CommunicatorCache* cache = nullptr;
};

// The boundary's group communicator for `ranks` (sched::boundary_ranks), made or reused by
// `cache`: collective over the cache's world, every rank calling with the same `ranks`; `rank`:
// this rank in that world. No communicator for an empty set (nothing crosses ranks).
attn::BoundaryGroup boundary_group(std::vector<int> ranks, int rank, comm::CommunicatorCache& cache);

// Collective over every rank of `world` (all call it with the same input); the encoder uses
// `world`, the boundary a group communicator of its ranks from `boundary_cache` (a cache over the
// same world, kept across steps: a stable boundary set is created once), the LLM `llm`.
MultimodalStep execute_multimodal_step(const MultimodalStepInput& input, comm::Transport& world,
                                       comm::CommunicatorCache& boundary_cache, LlmComm llm, attn::Kernels& kernels);

}  // namespace flexcp
