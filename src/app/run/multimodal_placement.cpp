#include "app/run/multimodal_placement.hpp"

#include <algorithm>

#include <mpi.h>

#include "app/plan/multimodal_study.hpp"
#include "app/run/multimodal_step.hpp"
#include "app/run/run_setup.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/data_path.hpp"
#include "common/error.hpp"
#include "sched/boundary_traffic.hpp"
#include "sched/cost_model.hpp"
#include "sched/encoder_cost.hpp"
#include "sched/encoder_plan.hpp"
#include "sched/standing_communicators.hpp"
#include "sched/token_layout.hpp"

namespace flexcp {

namespace {
constexpr std::uint64_t kProjectorSeed = 0x9e0c;
constexpr double kExecutedElementBytes = 4.0;  // the executors' fp32
constexpr std::int64_t kSplitBatches = 16;     // batches the non-colocated split is chosen on

// The encoder as one executed attention layer: what its cost model must see for its bytes.
sched::EncoderCostContext executed_encoder(const Config& c, const sched::Cluster& cluster, std::int64_t token_width) {
  auto encoder = c.multimodal->encoder;
  encoder.layers = 1;
  auto hardware = c.hardware;
  hardware.element_bytes = kExecutedElementBytes;
  return {cluster, encoder, token_width, hardware};
}
}  // namespace

MultimodalModels multimodal_models(const Config& c) {
  const auto& e = c.multimodal->encoder;
  MultimodalModels m{{e.heads, e.heads, e.head_dim}, c.model.heads, {}};
  const std::int64_t in = std::int64_t{e.images.merge} * e.heads * e.head_dim;
  const std::int64_t token = std::int64_t{c.model.heads.q_heads + 2 * c.model.heads.kv_heads} * c.model.heads.head_dim;
  m.projector = attn::projector_weights(in, e.projector_hidden > 0 ? e.projector_hidden : 2 * e.heads * e.head_dim, token,
                                        c.batch.seed ^ kProjectorSeed);
  return m;
}

std::array<double, MultimodalRankMetrics::kFields> MultimodalRankMetrics::pack() const {
  std::array<double, kFields> out{};
  for (std::size_t i = 0; i < components.size(); ++i) {
    out[3 * i] = components[i].seconds;
    out[3 * i + 1] = components[i].bytes_sent;
    out[3 * i + 2] = components[i].bytes_modelled;
  }
  return out;
}

MultimodalRankMetrics MultimodalRankMetrics::unpack(const double* f) {
  MultimodalRankMetrics m;
  for (std::size_t i = 0; i < m.components.size(); ++i) m.components[i] = {f[3 * i], f[3 * i + 1], f[3 * i + 2]};
  return m;
}

double MultimodalStepRecord::step_s() const {
  double slowest = 0.0;
  for (const auto& r : ranks) {
    double sum = 0.0;
    for (const auto& c : r.components) sum += c.seconds;
    slowest = std::max(slowest, sum);
  }
  return slowest;
}

std::string MultimodalStepRecord::bytes_mismatch() const {
  for (std::size_t r = 0; r < ranks.size(); ++r)
    for (std::size_t i = 0; i < kMultimodalComponents.size(); ++i) {
      const auto& c = ranks[r].components[i];
      if (c.bytes_sent != c.bytes_modelled)
        return std::string(kMultimodalComponents[i]) + " on rank " + std::to_string(r) + " in step " + std::to_string(step) +
               ": sent " + std::to_string(static_cast<long long>(c.bytes_sent)) + " bytes, modelled " +
               std::to_string(static_cast<long long>(c.bytes_modelled));
    }
  return "";
}

std::vector<sched::Placement> run_placements(const Config& c, int world_size) {
  std::vector<sched::Placement> out;
  const auto& names = c.multimodal->placements;
  for (const auto p : {sched::Placement::llm_centric, sched::Placement::colocated, sched::Placement::non_colocated}) {
    const bool listed = std::find(names.begin(), names.end(), sched::to_string(p)) != names.end();
    if (!names.empty() && !listed) continue;
    if (p == sched::Placement::non_colocated && world_size < 2) {
      if (listed)
        throw ConfigError("key 'multimodal.placements': \"non-colocated\" needs at least 2 ranks (the encoder's and the "
                          "LLM's are disjoint); this job has 1");
      continue;
    }
    out.push_back(p);
  }
  return out;
}

void check_multimodal_run(const Config& c, int world_size) {
  // Both backends run the whole step in their own memory (projector and boundary over Kernels,
  // the boundary's all-to-all and the LLM on the backend's data path); the backend's own checks
  // (a device, NCCL at several ranks) are check_backend_config's.
  if (c.run.backend != "cpu" && c.run.backend != "cuda")
    throw ConfigError("key 'run.backend': \"" + c.run.backend + "\" does not execute [multimodal] steps; use \"cpu\" or \"cuda\"");
  check_backend_config(c, world_size);
  if (!c.has_hardware)
    throw ConfigError("[hardware]: flexcp run plans and models every placement with a hardware profile: set "
                      "cluster.hardware = \"hardware/cpu-dev.toml\" (relative to the input) or give a [hardware] table");
  run_placements(c, world_size);
  const int e = c.multimodal->encoder_ranks;
  if (e > 0 && e >= world_size)
    throw ConfigError("key 'multimodal.encoder_ranks': " + std::to_string(e) + " leaves no rank of the " +
                      std::to_string(world_size) + " for the LLM");
}

int run_encoder_ranks(const Config& c, const sched::Cluster& cluster) {
  if (c.multimodal->encoder_ranks > 0) {
    const auto choices = sched::encoder_rank_choices(cluster);
    if (std::find(choices.begin(), choices.end(), c.multimodal->encoder_ranks) == choices.end())
      throw ConfigError("key 'multimodal.encoder_ranks': " + std::to_string(c.multimodal->encoder_ranks) +
                        " is not a split of this job (whole nodes on several nodes, 1 to ranks - 1 on one)");
    return c.multimodal->encoder_ranks;
  }
  Config job = c;
  job.cluster = cluster;
  job.model.shape = run_planner_context(c, cluster).cost.model;  // what runs: one attention layer, the executor's memory
  // Chosen before the first step from the run's first batches (at most kSplitBatches: a long run
  // must not model all its batches up front).
  job.plan.batches = std::min(c.run.warmup_steps + c.run.steps, kSplitBatches);
  return run_multimodal_study(job).series.back().batches.front().encoder_ranks;
}

// The LLM's transport and communicator cache: the world's when it runs on every rank, a data
// path of the backend's kind over a communicator of its own ranks otherwise (MPI for cpu, NCCL
// for cuda), freed after its cache and transport.
struct MultimodalPlacementRun::LlmChannel {
  std::unique_ptr<comm::MpiWorld> own_world;
  std::unique_ptr<comm::DataPath> own_data;
  std::unique_ptr<comm::CommunicatorCache> cache;
  comm::Transport* transport = nullptr;
  ~LlmChannel() {
    cache.reset();
    own_data.reset();
    own_world.reset();
  }
};

MultimodalPlacementRun::MultimodalPlacementRun(sched::Placement placement, int encoder_ranks, const Config& config,
                                               const sched::Cluster& cluster, comm::MpiWorld& world,
                                               ExecutionBackend& backend)
    : placement_(placement),
      config_(config),
      cluster_(cluster),
      encoder_ranks_(placement == sched::Placement::non_colocated ? encoder_ranks : cluster.ranks()),
      llm_first_(placement == sched::Placement::non_colocated ? encoder_ranks : 0),
      world_(world),
      backend_(backend),
      models_(multimodal_models(config)),
      llm_context_(run_planner_context(
          config, placement == sched::Placement::non_colocated ? sched::non_colocated_llm_cluster(cluster, encoder_ranks)
                                                               : cluster)),
      planner_(sched::make_flexcp_planner(llm_context_)),
      llm_(std::make_unique<LlmChannel>()) {
  const auto capacity = static_cast<std::size_t>(config.run.comm_cache_size);
  // Over the world on the backend's data path (MPI or NCCL), whatever the placement: the
  // boundary joins encoder and LLM ranks.
  boundary_cache_ = std::make_unique<comm::CommunicatorCache>(world.rank(), capacity, backend.data->group_factory());
  if (placement != sched::Placement::non_colocated) {
    llm_->transport = &backend.data->transport();
    llm_->cache = std::make_unique<comm::CommunicatorCache>(world.rank(), capacity, backend.data->group_factory());
    make_llm_standing_communicators();
    return;
  }
  const bool in_llm = world.rank() >= llm_first_;
  llm_->own_world = world.split(in_llm);
  if (!in_llm) return;
  llm_->own_data = open_data_path_over(config, *llm_->own_world, backend);
  llm_->transport = &llm_->own_data->transport();
  llm_->cache = std::make_unique<comm::CommunicatorCache>(llm_->own_world->rank(), capacity, llm_->own_data->group_factory());
  make_llm_standing_communicators();
}

MultimodalPlacementRun::~MultimodalPlacementRun() = default;

void MultimodalPlacementRun::make_llm_standing_communicators() {
  for (const auto& layer : sched::flexcp_standing_communicators(llm_context_.cost)) llm_->cache->make_standing(layer);
}

namespace {
// "rank 3" or "ranks 1-3"
std::string rank_range(int first, int count) {
  return count == 1 ? "rank " + std::to_string(first)
                    : "ranks " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}
}  // namespace

MultimodalPlacementResult MultimodalPlacementRun::result_header() const {
  const int ranks = cluster_.ranks();
  const std::string llm = "the LLM under flexcp's plan on " + rank_range(llm_first_, ranks - llm_first_);
  std::string description;
  switch (placement_) {
    case sched::Placement::llm_centric: description = "baseline: the encoder follows the LLM's token layout; " + llm; break;
    case sched::Placement::colocated: description = "the encoder's own balanced layout on every rank; " + llm; break;
    case sched::Placement::non_colocated: description = "the encoder on " + rank_range(0, llm_first_) + ", " + llm; break;
  }
  return {sched::to_string(placement_), description, encoder_ranks_, ranks - llm_first_, {}, {}, ""};
}

MultimodalPlacementRun::Outcome MultimodalPlacementRun::step(const sched::MultimodalBatch& batch, std::uint64_t seed,
                                                             bool check, std::int64_t step_index) {
  const int me = world_.rank();
  const auto& mm = *config_.multimodal;
  const auto plan = planner_->plan(batch.llm);
  const auto encoder_cost = executed_encoder(config_, cluster_, models_.token_width());
  sched::ImageTokenLayout layout;
  if (placement_ == sched::Placement::llm_centric) {
    layout = sched::llm_image_layout(plan, batch);
  } else {
    sched::EncoderPlanContext ec{encoder_cost, 0, encoder_ranks_, 1};
    ec.capacity_patches = sched::encoder_capacity_patches(mm.encoder, models_.token_width(), config_.hardware, encoder_ranks_);
    layout = sched::plan_encoder(batch, ec);
  }
  const MultimodalStepInput input{batch, layout, plan, llm_first_, models_.encoder_heads, models_.llm_heads,
                                  mm.encoder.images.merge, mm.encoder.images.class_tokens, models_.projector, seed};
  const auto step = execute_multimodal_step(input, backend_.data->transport(), *boundary_cache_, {llm_->transport, llm_->cache.get()},
                                            *backend_.kernels);

  Outcome out;
  auto& [encoder, boundary, llm] = out.metrics.components;
  encoder = {step.encoder_cost.seconds, step.encoder_cost.bytes_sent,
             sched::encoder_costs(layout, batch, encoder_cost)[static_cast<std::size_t>(me)].bytes_sent};
  const auto traffic = sched::boundary_traffic(layout, sched::llm_image_layout(plan, batch, llm_first_), cluster_);
  const auto r = static_cast<std::size_t>(me);
  boundary = {step.boundary_cost.seconds, step.boundary_cost.bytes_sent,
              static_cast<double>(traffic.sent_tokens[r] + traffic.received_tokens[r]) *
                  static_cast<double>(models_.token_width()) * kExecutedElementBytes};
  llm = {step.llm_cost.seconds, step.llm_cost.bytes_sent, 0.0};
  if (me >= llm_first_)
    llm.bytes_modelled = sched::evaluate_plan(plan, llm_context_.cost).ranks[static_cast<std::size_t>(me - llm_first_)].bytes_sent;
  if (check) out.check = check_multimodal_step(world_, input, step, config_.run.check_tolerance, step_index);
  return out;
}

}  // namespace flexcp
