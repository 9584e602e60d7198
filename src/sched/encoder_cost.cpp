#include "sched/encoder_cost.hpp"

#include <algorithm>
#include <map>

#include "sched/cost_model.hpp"

namespace flexcp::sched {

namespace {
CostContext attention_context(const EncoderCostContext& c) { return {c.cluster, c.encoder.attention_shape(), c.hardware}; }

double linear_s(double patches, double llm_tokens, const EncoderCostContext& c) {
  const double flops = patches * c.encoder.linear_flops_per_patch() +
                       llm_tokens * c.encoder.projector_flops_per_token(c.llm_hidden);
  return flops * c.encoder.attention_shape().linear_executed_factor() / c.hardware.matmul_flops;
}

// Forward (recomputed too under checkpointing) and backward of one attention slice.
double attention_s(const AttentionPassTimes& t, const EncoderCostContext& c) {
  return c.encoder.attention_shape().attention_forward_passes() * t.forward_s + t.backward_s;
}

}  // namespace

double sequence_work_s(std::int64_t patches, std::int64_t llm_tokens, const EncoderCostContext& c) {
  const auto n = static_cast<double>(patches);
  const auto t = attention_pass_times(n * n, SliceMask::full, n, attention_context(c));
  return linear_s(n, static_cast<double>(llm_tokens), c) + attention_s(t, c);
}

std::vector<EncoderRankCost> encoder_costs(const ImageTokenLayout& layout, const MultimodalBatch& batch,
                                           const EncoderCostContext& c) {
  std::vector<EncoderRankCost> out(static_cast<std::size_t>(c.cluster.ranks()));
  const auto attention = attention_context(c);
  const auto& e = c.encoder;
  const double kv = e.kv_bytes_per_patch(c.hardware.element_bytes);
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const auto& image = batch.images[i].encoded;
    for (std::size_t s = 0; s < layout[i].size(); ++s) {
      const auto n = static_cast<double>(image.sequence_patches[s]);
      // Patches and LLM tokens per rank: a rank may hold several pieces (zigzag chunks).
      std::map<int, std::pair<double, double>> held;  // rank -> (patches, llm tokens)
      for (const auto& piece : layout[i][s]) {
        auto& h = held[piece.rank];
        h.first += static_cast<double>(piece.count * e.images.merge + (piece.begin == 0 ? e.images.class_tokens : 0));
        h.second += static_cast<double>(piece.count);
      }
      const int g = static_cast<int>(held.size());
      bool spans = false;
      for (const auto& [rank, h] : held) spans = spans || c.cluster.node_of(rank) != c.cluster.node_of(held.begin()->first);
      const double bandwidth = spans ? c.hardware.inter_bandwidth : c.hardware.intra_bandwidth;
      const double latency = spans ? c.hardware.inter_latency : c.hardware.intra_latency;
      for (const auto& [rank, h] : held) {
        auto& r = out[static_cast<std::size_t>(rank)];
        const auto t = attention_pass_times(h.first * n, SliceMask::full, g == 1 ? n : h.first, attention);
        r.patches += h.first;
        r.compute_s += linear_s(h.first, h.second, c) + attention_s(t, c);
        if (g == 1) continue;
        // All-gather CP, as attn::EncoderAttention executes it, per layer: forward, this rank's K
        // and V to each of the g - 1 other members, theirs in; backward, the dK/dV partials of
        // the other members' patches back to them, its own partials in. Not overlapped. A
        // recomputed forward (checkpointing) gathers K and V again.
        const double own = (g - 1) * h.first * kv, others = (n - h.first) * kv;
        const double forward_passes = e.attention_shape().attention_forward_passes();
        r.bytes_sent += e.layers * (forward_passes * own + others);
        r.exposed_comm_s += e.layers * (forward_passes + 1.0) * (std::max(own, others) / bandwidth + (g - 1) * latency);
      }
    }
  }
  return out;
}

double encoder_model_flops(const MultimodalBatch& batch, const EncoderShape& e, std::int64_t llm_hidden) {
  const double pair_flops = e.attention_shape().attention_flops_per_pair();
  double flops = 0.0;
  for (const auto& image : batch.images)
    for (std::size_t s = 0; s < image.encoded.sequence_patches.size(); ++s) {
      const auto n = static_cast<double>(image.encoded.sequence_patches[s]);
      flops += kLinearTrainingFactor * (n * e.linear_flops_per_patch() +
                                        static_cast<double>(image.encoded.sequence_llm_tokens[s]) *
                                            e.projector_flops_per_token(llm_hidden)) +
               kAttentionTrainingFactor * n * n * pair_flops;
    }
  return flops;
}

}  // namespace flexcp::sched
