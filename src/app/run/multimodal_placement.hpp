#pragma once
// One placement of `flexcp run` on a multimodal input (sched/multimodal_placements.hpp), step
// by step: the LLM's flexcp plan of the batch (attention only, one layer: what runs), the
// encoder's layout (the LLM's for llm-centric, its own balanced plan otherwise), the LLM's own
// communicator when it runs on ranks of its own (non-colocated: the last ranks), the executed
// step (app/run/multimodal_step.hpp), and per component what the cost models say this rank
// sends, so that measured bytes can be held to the modelled ones.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/input/config.hpp"
#include "app/run/backend.hpp"
#include "app/run/multimodal_check.hpp"
#include "comm/mpi_world.hpp"
#include "sched/multimodal_placements.hpp"
#include "sched/planner.hpp"

namespace flexcp::comm {
class CommunicatorCache;
}

namespace flexcp {

// The executed chain's shapes: the encoder's heads (one attention layer), the LLM's, and the
// projector from `merge` patches to one LLM token's Q/K/V ([encoder] projector_hidden wide, or
// twice the encoder's width when it gives none), its weights seeded.
struct MultimodalModels {
  attn::HeadLayout encoder_heads, llm_heads;
  attn::ProjectorWeights projector;
  std::int64_t token_width() const { return projector.out; }
};
MultimodalModels multimodal_models(const Config& config);

// One component on one rank in one step: wall seconds, bytes sent, and the bytes its cost model
// says this rank sends (encoder_cost.hpp, boundary_traffic.hpp, cost_model.hpp).
struct ComponentMetrics {
  double seconds = 0.0, bytes_sent = 0.0, bytes_modelled = 0.0;
};

inline constexpr std::array<const char*, 3> kMultimodalComponents{"encoder", "boundary", "llm"};

struct MultimodalRankMetrics {
  std::array<ComponentMetrics, 3> components;  // kMultimodalComponents: encoder (with the projector), boundary, LLM
  static constexpr std::size_t kFields = 9;
  std::array<double, kFields> pack() const;
  static MultimodalRankMetrics unpack(const double* fields);
};

struct MultimodalStepRecord {
  std::int64_t step = 0, llm_tokens = 0, image_tokens = 0, images = 0;
  std::vector<MultimodalRankMetrics> ranks;
  double step_s() const;  // the slowest rank's encoder + boundary + LLM
  // "" when every rank's every component sent exactly its modelled bytes; else the first that did not.
  std::string bytes_mismatch() const;
};

struct MultimodalPlacementResult {
  std::string name, description;
  int encoder_ranks = 0, llm_ranks = 0;
  std::vector<MultimodalStepRecord> steps;  // measured steps, on rank 0
  MultimodalCheck check;
  std::string bytes_mismatch;  // the first step's mismatch, warm-up included; "" when none
  bool passed() const { return (!check.ran || check.passed) && bytes_mismatch.empty(); }
};

// The placements a run executes: multimodal.placements, by default every one that fits the job
// (non-colocated needs two ranks). Throws ConfigError naming the key.
std::vector<sched::Placement> run_placements(const Config& config, int world_size);

// Rank 0, before anything runs: the placements fit the job, the backend executes multimodal
// steps (cpu or cuda), a hardware profile plans and models them.
// Throws ConfigError naming the key.
void check_multimodal_run(const Config& config, int world_size);

// Non-colocated: multimodal.encoder_ranks, or the planner's split (the least modelled step time
// over the run's first batches, at most 16, as `flexcp plan` chooses it) on this job's machine.
int run_encoder_ranks(const Config& config, const sched::Cluster& cluster);

class MultimodalPlacementRun {
 public:
  // Collective over `world` (splits the LLM's communicator for non-colocated).
  MultimodalPlacementRun(sched::Placement placement, int encoder_ranks, const Config& config, const sched::Cluster& cluster,
                         comm::MpiWorld& world, ExecutionBackend& backend);
  ~MultimodalPlacementRun();
  MultimodalPlacementRun(const MultimodalPlacementRun&) = delete;
  MultimodalPlacementRun& operator=(const MultimodalPlacementRun&) = delete;

  MultimodalPlacementResult result_header() const;

  struct Outcome {
    MultimodalRankMetrics metrics;
    std::optional<MultimodalCheck> check;  // on every rank when asked for
  };
  // Collective over the world: plans, executes and measures one batch.
  Outcome step(const sched::MultimodalBatch& batch, std::uint64_t activation_seed, bool check, std::int64_t step_index);

 private:
  struct LlmChannel;
  // Collective over the LLM's ranks: the node communicators flexcp's LLM plans expect from
  // start-up (sched/standing_communicators.hpp), as `flexcp run` makes them for flexcp.
  void make_llm_standing_communicators();

  sched::Placement placement_;
  const Config& config_;
  sched::Cluster cluster_;
  int encoder_ranks_, llm_first_;
  comm::MpiWorld& world_;
  ExecutionBackend& backend_;
  MultimodalModels models_;
  sched::PlannerContext llm_context_;
  std::unique_ptr<sched::Planner> planner_;
  std::unique_ptr<LlmChannel> llm_;  // null on a rank outside the LLM's
  // The boundary's group communicators over the world, kept across this placement's steps.
  std::unique_ptr<comm::CommunicatorCache> boundary_cache_;
};

}  // namespace flexcp
