#include "sched/multimodal_placements.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "sched/boundary_traffic.hpp"
#include "sched/cost_model.hpp"
#include "sched/encoder_plan.hpp"
#include "sched/plan_bound.hpp"
#include "sched/planner.hpp"
#include "sched/token_layout.hpp"

namespace flexcp::sched {

const char* to_string(Placement placement) {
  switch (placement) {
    case Placement::llm_centric: return "llm-centric";
    case Placement::colocated: return "colocated";
    case Placement::non_colocated: return "non-colocated";
  }
  return "?";
}

namespace {
// The LLM's flexcp plan on `cluster`, its ranks' memory less `reserved_bytes` (encoder states).
Plan plan_llm(const MultimodalBatch& batch, const MultimodalContext& c, const Cluster& cluster, double reserved_bytes) {
  PlannerContext planner{{cluster, c.llm, c.hardware}, 1, false};
  planner.capacity_tokens = capacity_tokens(c.llm, c.hardware, cluster.ranks(), reserved_bytes);
  return make_flexcp_planner(planner)->plan(batch.llm);
}

EncoderCostContext encoder_context(const MultimodalContext& c) { return {c.cluster, c.encoder, c.llm.hidden, c.hardware}; }

double encoder_states_bytes(const MultimodalContext& c) { return c.encoder.state_bytes_per_param * c.encoder.parameters(c.llm.hidden); }

int split_sequences(const ImageTokenLayout& layout) {
  int n = 0;
  for (const auto& image : layout)
    for (const auto& pieces : image) {
      const bool split = std::any_of(pieces.begin(), pieces.end(), [&](const TokenPiece& p) { return p.rank != pieces[0].rank; });
      n += split ? 1 : 0;
    }
  return n;
}

void add_totals(PlacementCost& out, const MultimodalBatch& batch, const MultimodalContext& c, const PlanCost& llm) {
  out.llm_tokens = static_cast<double>(batch.llm.total_tokens());
  out.llm_bytes = llm.bytes_sent;
  out.model_flops = llm.model_flops + encoder_model_flops(batch, c.encoder, c.llm.hidden);
}

double bytes_of(const std::vector<EncoderRankCost>& ranks) {
  double b = 0.0;
  for (const auto& r : ranks) b += r.bytes_sent;
  return b;
}

double slowest(const std::vector<EncoderRankCost>& ranks) {
  double t = 0.0;
  for (const auto& r : ranks) t = std::max(t, r.time_s());
  return t;
}

// Encoder activations the busiest rank keeps while the LLM runs: an image's activations stay
// from its forward to its backward, and the LLM's step lies between the two on shared ranks.
double peak_activation_bytes(const std::vector<EncoderRankCost>& ranks, const EncoderShape& encoder) {
  double patches = 0.0;
  for (const auto& r : ranks) patches = std::max(patches, r.patches);
  return patches * encoder.activation_bytes_per_patch;
}

// The images that micro-batch `mb` of `plan` holds, with their LLM layout (the encoder's, in
// the LLM-centric placement): images of other micro-batches have no pieces in it.
struct PlacedImages {
  MultimodalBatch batch;
  ImageTokenLayout layout;
};
PlacedImages placed_in(const Plan& plan, std::size_t mb, const MultimodalBatch& batch) {
  Plan one = plan;
  one.micro_batches = {plan.micro_batches[mb]};
  const auto layout = llm_image_layout(one, batch);
  PlacedImages placed{{batch.llm, {}}, {}};
  for (std::size_t i = 0; i < layout.size(); ++i)
    if (!layout[i].empty() && !layout[i][0].empty()) {
      placed.batch.images.push_back(batch.images[i]);
      placed.layout.push_back(layout[i]);
    }
  return placed;
}

// LLM-centric: each rank encodes the images whose tokens it holds, so what the LLM must leave
// for the encoder depends on the LLM's own plan. Plan with the encoder's states reserved, then
// with the encoder activations that plan puts on its busiest rank, until the plan leaves enough:
// more reserved memory means smaller micro-batches and split documents, fewer patches per rank.
// When that need is beyond the memory, half of what is left to the LLM is taken instead.
Plan plan_llm_with_encoder_inside(const MultimodalBatch& batch, const MultimodalContext& c, double states) {
  // An image no group of the machine can hold is the input's fault, named as the other placements
  // name it, before any plan (whose failure would blame the LLM's memory instead).
  const int ranks = c.cluster.ranks();
  require_images_fit(batch, ranks, encoder_capacity_patches(c.encoder, c.llm.hidden, c.hardware, ranks,
                                                            c.llm.state_bytes_per_param * c.llm.parameters() / ranks));
  // The most the LLM can leave and still hold one token per rank.
  const double most = static_cast<double>(capacity_tokens(c.llm, c.hardware, ranks, 0.0) - 1) * c.llm.activation_bytes_per_token;
  double reserved = std::min(states, most), needed = states;
  for (int attempt = 0; attempt < 16; ++attempt) {
    Plan plan = plan_llm(batch, c, c.cluster, reserved);
    needed = states;
    for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
      const auto placed = placed_in(plan, mb, batch);
      needed = std::max(needed, states + peak_activation_bytes(encoder_costs(placed.layout, placed.batch,
                                                                              encoder_context(c)), c.encoder));
    }
    if (needed <= reserved) return plan;
    reserved = needed <= most ? needed : (reserved + most) / 2.0;
  }
  throw ConfigError("llm-centric placement: no LLM plan leaves room for the activations of encoder '" + c.encoder.name +
                    "' on the ranks that encode its images (the last of 16 plans needed " + std::to_string(needed / 1e9) +
                    " GB per rank beside the LLM's states, " + std::to_string(most / 1e9) + " GB can be left)");
}
}  // namespace

PlacementCost model_llm_centric(const MultimodalBatch& batch, const MultimodalContext& c) {
  const double states = encoder_states_bytes(c) / c.cluster.ranks();
  const Plan plan = plan_llm_with_encoder_inside(batch, c, states);
  const CostContext cost{c.cluster, c.llm, c.hardware};
  PlacementCost out;
  out.encoder_ranks = out.llm_ranks = c.cluster.ranks();
  out.llm_micro_batches = static_cast<int>(plan.micro_batches.size());
  const auto whole = evaluate_plan(plan, cost);
  out.llm_s = whole.step_time_s;
  add_totals(out, batch, c, whole);
  // Micro-batch by micro-batch: each rank encodes the images whose tokens it holds, then runs its
  // LLM work; the slowest rank's sum sets the micro-batch's time.
  for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
    Plan one = plan;
    one.micro_batches = {plan.micro_batches[mb]};
    const auto llm = evaluate_plan(one, cost);
    const auto placed = placed_in(plan, mb, batch);
    const auto encoder = encoder_costs(placed.layout, placed.batch, encoder_context(c));
    double micro = 0.0, encoder_peak = 0.0;
    for (std::size_t r = 0; r < encoder.size(); ++r) {
      micro = std::max(micro, encoder[r].time_s() + llm.ranks[r].busy_s() + llm.ranks[r].exposed_comm_s);
      encoder_peak = std::max(encoder_peak, encoder[r].time_s());
    }
    out.step_s += micro + c.hardware.microbatch_overhead_s;
    out.encoder_s += encoder_peak;
    out.encoder_bytes += bytes_of(encoder);
    out.split_sequences += split_sequences(placed.layout);
  }
  return out;
}

PlacementCost model_colocated(const MultimodalBatch& batch, const MultimodalContext& c) {
  const int ranks = c.cluster.ranks();
  // The encoder is planned first (its capacity leaves the LLM's states), and the LLM's plan then
  // leaves room for the encoder's states and the activations it keeps on the busiest rank from
  // its forward, before the LLM's micro-batches, to its backward after them.
  EncoderPlanContext ec{encoder_context(c), 0, ranks, 1};
  ec.capacity_patches = encoder_capacity_patches(c.encoder, c.llm.hidden, c.hardware, ranks,
                                                 c.llm.state_bytes_per_param * c.llm.parameters() / ranks);
  const auto encoder_layout = plan_encoder(batch, ec);
  const auto encoder = encoder_costs(encoder_layout, batch, ec.cost);
  const Plan plan =
      plan_llm(batch, c, c.cluster, encoder_states_bytes(c) / ranks + peak_activation_bytes(encoder, c.encoder));
  const auto llm = evaluate_plan(plan, {c.cluster, c.llm, c.hardware});
  const auto llm_layout = llm_image_layout(plan, batch);
  const auto traffic = boundary_traffic(encoder_layout, llm_layout, c.cluster);
  const double bytes_per_token = static_cast<double>(c.llm.hidden) * c.hardware.element_bytes;
  PlacementCost out;
  out.encoder_ranks = out.llm_ranks = ranks;
  out.llm_micro_batches = static_cast<int>(plan.micro_batches.size());
  out.llm_s = llm.step_time_s;
  out.encoder_s = slowest(encoder);
  out.boundary_s = 2.0 * boundary_time_s(traffic, bytes_per_token, c.cluster, c.hardware);
  out.boundary_bytes = 2.0 * static_cast<double>(traffic.moved_tokens) * bytes_per_token;
  out.boundary_ranks = boundary_ranks(encoder_layout, llm_layout, ranks);
  out.boundary_exchanging_ranks = static_cast<int>(traffic.ranks.size());
  out.encoder_bytes = bytes_of(encoder);
  out.split_sequences = split_sequences(encoder_layout);
  out.step_s = out.encoder_s + out.boundary_s + out.llm_s;
  out.floor_s = colocated_floor_s(batch, c);
  add_totals(out, batch, c, llm);
  return out;
}

double colocated_floor_s(const MultimodalBatch& batch, const MultimodalContext& c) {
  const int ranks = c.cluster.ranks();
  const auto ec = encoder_context(c);
  double encoder_work = 0.0;
  for (const auto& image : batch.images)
    for (std::size_t s = 0; s < image.encoded.sequence_patches.size(); ++s)
      encoder_work += sequence_work_s(image.encoded.sequence_patches[s], image.encoded.sequence_llm_tokens[s], ec);
  const auto capacity = capacity_tokens(c.llm, c.hardware, ranks, encoder_states_bytes(c) / ranks);
  return encoder_work / ranks + lower_bound_with_communication_s(batch.llm, {c.cluster, c.llm, c.hardware}, capacity);
}

PlacementCost model_non_colocated(const MultimodalBatch& batch, const MultimodalContext& c, int encoder_ranks) {
  const auto& cl = c.cluster;
  FLEXCP_CHECK(encoder_ranks >= 1 && encoder_ranks < cl.ranks(), "non-colocated: the encoder needs some ranks, the LLM the rest");
  FLEXCP_CHECK(cl.nodes == 1 || encoder_ranks % cl.ranks_per_node == 0, "non-colocated: the encoder takes whole nodes");
  const Cluster llm_cluster = non_colocated_llm_cluster(cl, encoder_ranks);
  const Plan plan = plan_llm(batch, c, llm_cluster, 0.0);
  const auto llm = evaluate_plan(plan, {llm_cluster, c.llm, c.hardware});
  EncoderPlanContext ec{encoder_context(c), 0, encoder_ranks, 1};
  ec.capacity_patches = encoder_capacity_patches(c.encoder, c.llm.hidden, c.hardware, encoder_ranks);
  const auto encoder_layout = plan_encoder(batch, ec);
  const auto encoder = encoder_costs(encoder_layout, batch, ec.cost);
  const auto llm_layout = llm_image_layout(plan, batch, encoder_ranks);
  const auto traffic = boundary_traffic(encoder_layout, llm_layout, cl);
  const double bytes_per_token = static_cast<double>(c.llm.hidden) * c.hardware.element_bytes;
  PlacementCost out;
  out.encoder_ranks = encoder_ranks;
  out.llm_ranks = llm_cluster.ranks();
  out.llm_micro_batches = static_cast<int>(plan.micro_batches.size());
  out.llm_s = llm.step_time_s;
  out.encoder_s = slowest(encoder);
  out.boundary_s = 2.0 * boundary_time_s(traffic, bytes_per_token, cl, c.hardware);
  out.boundary_bytes = 2.0 * static_cast<double>(traffic.moved_tokens) * bytes_per_token;
  out.boundary_ranks = boundary_ranks(encoder_layout, llm_layout, cl.ranks());
  out.boundary_exchanging_ranks = static_cast<int>(traffic.ranks.size());
  out.encoder_bytes = bytes_of(encoder);
  out.split_sequences = split_sequences(encoder_layout);
  // k chunks through three stages: every stage's work once, plus k - 1 chunks of the slowest.
  const double k = c.pipeline_micro_batches;
  const double peak = std::max({out.encoder_s, out.boundary_s, out.llm_s});
  out.step_s = (out.encoder_s + out.boundary_s + out.llm_s) / k + (k - 1.0) / k * peak;
  add_totals(out, batch, c, llm);
  return out;
}

void charge_boundary_communicator(PlacementCost& cost, CommunicatorAccounting& communicators, const HardwareProfile& hw) {
  if (cost.boundary_ranks.size() < 2) return;  // nothing crosses ranks: no group, no exchange
  const auto charge = communicators.charge({cost.boundary_ranks});
  cost.boundary_create_s = charge.rounds * hw.communicator_create_s;
  cost.boundary_communicators_created = charge.created;
  cost.boundary_s += cost.boundary_create_s;
  cost.step_s += cost.boundary_create_s;
}

Cluster non_colocated_llm_cluster(const Cluster& cl, int encoder_ranks) {
  return cl.nodes == 1 ? Cluster{1, cl.ranks() - encoder_ranks}
                       : Cluster{cl.nodes - encoder_ranks / cl.ranks_per_node, cl.ranks_per_node};
}

std::vector<int> encoder_rank_choices(const Cluster& cluster) {
  std::vector<int> out;
  if (cluster.nodes == 1)
    for (int r = 1; r < cluster.ranks(); ++r) out.push_back(r);
  else
    for (int n = 1; n < cluster.nodes; ++n) out.push_back(n * cluster.ranks_per_node);
  return out;
}

}  // namespace flexcp::sched
