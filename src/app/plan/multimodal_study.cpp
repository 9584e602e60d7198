#include "app/plan/multimodal_study.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "sched/encoder_cost.hpp"

namespace flexcp {

double PlacementSeries::total(double sched::PlacementCost::*field) const {
  double sum = 0.0;
  for (const auto& b : batches) sum += b.*field;
  return sum;
}


MultimodalStudy run_multimodal_study(const Config& c) {
  FLEXCP_CHECK(c.multimodal.has_value(), "a multimodal study needs [multimodal]");
  const auto& mm = *c.multimodal;
  const sched::MultimodalSampler sampler(mm.samples, mm.encoder.images, c.batch.tokens_per_batch, c.batch.seed);
  const sched::MultimodalContext context{c.cluster, c.model.shape, mm.encoder, c.hardware, mm.pipeline_micro_batches};
  MultimodalStudy study;
  study.cluster = c.cluster;
  std::vector<sched::MultimodalBatch> batches;
  double image_tokens = 0.0, tokens = 0.0;
  for (std::int64_t k = 0; k < c.plan.batches; ++k) {
    batches.push_back(sampler.batch(static_cast<std::uint64_t>(k)));
    image_tokens += static_cast<double>(batches.back().image_llm_tokens());
    tokens += static_cast<double>(batches.back().llm.total_tokens());
    study.images += static_cast<long long>(batches.back().images.size());
    for (const auto& image : batches.back().images)
      study.encoder_sequences += static_cast<long long>(image.encoded.sequence_patches.size());
  }
  study.image_token_share = image_tokens / tokens;

  // Each placement's boundary keeps its group communicators in a cache of its own, as `flexcp run`
  // does (MultimodalPlacementRun): the stream decides which batches pay a creation.
  const auto cache = static_cast<std::size_t>(c.run.comm_cache_size);
  PlacementSeries centric{"llm-centric", {}}, colocated{"colocated", {}};
  sched::CommunicatorAccounting centric_comms({}, cache), colocated_comms({}, cache);
  for (const auto& b : batches) {
    centric.batches.push_back(sched::model_llm_centric(b, context));
    sched::charge_boundary_communicator(centric.batches.back(), centric_comms, c.hardware);
    colocated.batches.push_back(sched::model_colocated(b, context));
    sched::charge_boundary_communicator(colocated.batches.back(), colocated_comms, c.hardware);
  }
  double encoder_flops = 0.0;
  for (const auto& b : batches) encoder_flops += sched::encoder_model_flops(b, mm.encoder, c.model.shape.hidden);
  study.encoder_flop_share = encoder_flops / centric.total(&sched::PlacementCost::model_flops);

  // Non-colocated: the planner sizes the split once for the run, by the total step time over
  // the stream (the encoder's stage shrinks as the LLM's grows).
  const auto choices = sched::encoder_rank_choices(c.cluster);
  std::vector<PlacementSeries> evaluated(choices.size());
  std::vector<double> totals(choices.size(), -1.0);
  std::string why_not;  // the last split's reason for not running, for the error when none can
  auto evaluate = [&](std::size_t i) {
    if (totals[i] >= 0.0) return totals[i];
    PlacementSeries series{"non-colocated", {}};
    double total = 0.0;
    sched::CommunicatorAccounting comms({}, cache);
    try {
      for (const auto& b : batches) {
        series.batches.push_back(sched::model_non_colocated(b, context, choices[i]));
        sched::charge_boundary_communicator(series.batches.back(), comms, c.hardware);
        total += series.batches.back().step_s;
      }
    } catch (const ConfigError& e) {
      total = std::numeric_limits<double>::infinity();  // one side cannot hold its part: not a candidate
      why_not = "with " + std::to_string(choices[i]) + " encoder ranks: " + e.message();
    }
    study.splits_tried.emplace_back(choices[i], total);
    evaluated[i] = std::move(series);
    return totals[i] = total;
  };
  std::size_t at = 0;
  if (mm.encoder_ranks > 0) {
    const auto it = std::find(choices.begin(), choices.end(), mm.encoder_ranks);
    if (it == choices.end())
      throw ConfigError(std::string("key 'multimodal.encoder_ranks': ") + std::to_string(mm.encoder_ranks) +
                        " is not a split of this machine (whole nodes on several nodes, 1 to ranks - 1 on one)");
    at = static_cast<std::size_t>(it - choices.begin());
    if (!std::isfinite(evaluate(at)))
      throw ConfigError(std::string("key 'multimodal.encoder_ranks': with ") + std::to_string(mm.encoder_ranks) +
                        " encoder ranks one side cannot hold its part of a batch");
  } else {
    // The LLM's plan changes in steps (micro-batch counts), so the total is only roughly convex
    // in the split: grids of up to 12 splits, each over the neighbourhood of the previous
    // grid's best, down to single units, then a descent from the best, one unit at a time.
    std::size_t lo = 0, hi = choices.size() - 1;
    while (true) {
      const std::size_t points = std::min<std::size_t>(12, hi - lo + 1);
      const std::size_t step = points > 1 ? (hi - lo) / (points - 1) : 1;
      for (std::size_t j = 0; j < points; ++j) {
        const auto i = points == 1 ? lo : lo + j * (hi - lo) / (points - 1);
        if (evaluate(i) < evaluate(at)) at = i;
      }
      if (step <= 1) break;
      lo = at > step ? at - step : 0;
      hi = std::min(choices.size() - 1, at + step);
    }
    for (int direction : {-1, 1})
      while (true) {
        const long next = static_cast<long>(at) + direction;
        if (next < 0 || next >= static_cast<long>(choices.size())) break;
        if (evaluate(static_cast<std::size_t>(next)) >= totals[at]) break;
        at = static_cast<std::size_t>(next);
      }
    if (!std::isfinite(totals[at]))
      throw ConfigError("non-colocated: no split of the " + std::to_string(c.cluster.ranks()) +
                        " ranks between encoder and LLM can hold the batches (" + why_not + ")");
  }
  std::sort(study.splits_tried.begin(), study.splits_tried.end());
  PlacementSeries best = std::move(evaluated[at]);
  study.series = {std::move(centric), std::move(colocated), std::move(best)};
  return study;
}

void print_multimodal_study(std::FILE* out, const MultimodalStudy& s, const Config& c) {
  const auto& mm = *c.multimodal;
  const auto& e = mm.encoder;
  std::fprintf(out, "# flexcp plan, multimodal: modelled, not executed. %d nodes x %d ranks = %d ranks, hardware %s\n",
               s.cluster.nodes, s.cluster.ranks_per_node, s.cluster.ranks(), c.hardware.name.c_str());
  std::fprintf(out, "# LLM %s (%.2fB), encoder %s (%.2fB with projector, resize %s, patch %d, merge %d); dataset %s\n",
               c.model.shape.name.c_str(), c.model.shape.parameters() * 1e-9, e.name.c_str(),
               e.parameters(c.model.shape.hidden) * 1e-9, sched::to_string(e.images.resize), e.images.patch_size, e.images.merge,
               mm.dataset.c_str());
  std::fprintf(out, "# %lld batches of %lld LLM tokens: %lld images, %lld encoder sequences; image tokens %.1f%% of LLM tokens, "
                    "encoder + projector %.1f%% of model FLOPs\n",
               static_cast<long long>(c.plan.batches), static_cast<long long>(c.batch.tokens_per_batch), s.images,
               s.encoder_sequences, 100.0 * s.image_token_share, 100.0 * s.encoder_flop_share);
  std::fprintf(out, "# LLM: flexcp's plan in every placement; baseline: llm-centric (the encoder follows the LLM's token layout)\n");
  std::fprintf(out, "# non-colocated splits tried (encoder ranks: total step s):");
  for (const auto& [ranks, total] : s.splits_tried) std::fprintf(out, " %d: %.4g", ranks, total);
  std::fprintf(out, "; pipeline of %d micro-batches\n", mm.pipeline_micro_batches);
  std::fprintf(out, "# %-14s %10s %12s %10s %8s %11s %11s %10s %10s %8s %9s\n", "placement", "step(ms)", "tokens/s", "TFLOPS/GPU",
               "ratio", "encoder(ms)", "boundary(ms)", "llm(ms)", "bound.GB", "enc/llm", "split-seq");
  const auto& base = s.series.front();
  const double base_total = base.total(&sched::PlacementCost::step_s);
  const double n = static_cast<double>(c.plan.batches);
  for (const auto& p : s.series) {
    const double total = p.total(&sched::PlacementCost::step_s);
    const double flops = p.total(&sched::PlacementCost::model_flops);
    const double tokens = p.total(&sched::PlacementCost::llm_tokens);
    std::fprintf(out, "  %-14s %10.2f %12.4g %10.1f %8.3f %11.2f %11.2f %10.2f %10.3f %4d/%-4d %9.1f\n", p.name.c_str(),
                 1e3 * total / n, tokens / total, flops / total / s.cluster.ranks() * 1e-12, base_total / total,
                 1e3 * p.total(&sched::PlacementCost::encoder_s) / n, 1e3 * p.total(&sched::PlacementCost::boundary_s) / n,
                 1e3 * p.total(&sched::PlacementCost::llm_s) / n, p.total(&sched::PlacementCost::boundary_bytes) / n * 1e-9,
                 p.batches.front().encoder_ranks, p.batches.front().llm_ranks,
                 static_cast<double>(p.total(&sched::PlacementCost::split_sequences)) / n);
  }
  // The colocated floor: what no colocated layout beats under the model, so the most colocation
  // can gain here (a target above it is out of reach of any plan, not only of this one).
  const auto& colocated =
      *std::find_if(s.series.begin(), s.series.end(), [](const PlacementSeries& p) { return p.name == "colocated"; });
  const double floor_total = colocated.total(&sched::PlacementCost::floor_s);
  std::fprintf(out, "# colocated floor %.2f ms per step (the encoder's work over every rank + the LLM's lower bound, no "
                    "boundary): no colocated layout exceeds %.4fx llm-centric (%+.1f%%); this one reaches %.1f%% of that\n",
               1e3 * floor_total / n, base_total / floor_total, 100.0 * (base_total / floor_total - 1.0),
               100.0 * floor_total / colocated.total(&sched::PlacementCost::step_s));
  for (const auto& p : s.series) {
    const double total = p.total(&sched::PlacementCost::step_s);
    std::fprintf(out, "placement %s ratio_vs_llm_centric %.4f tflops_per_gpu %.2f tokens_per_s %.6g\n", p.name.c_str(),
                 base_total / total, p.total(&sched::PlacementCost::model_flops) / total / s.cluster.ranks() * 1e-12,
                 p.total(&sched::PlacementCost::llm_tokens) / total);
  }
}

}  // namespace flexcp
