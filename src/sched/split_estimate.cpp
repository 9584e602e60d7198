#include "sched/split_estimate.hpp"

#include <algorithm>

namespace flexcp::sched {

double split_time_estimate(std::int64_t length, int size, CommScheme scheme, const CostContext& c) {
  const auto& m = c.model;
  const auto& hw = c.hardware;
  const double l = static_cast<double>(length), p = size;
  const bool spans = size > c.cluster.ranks_per_node;
  const double linear = c.attention_only ? 0.0 : l / p * m.linear_flops_per_token() * m.linear_executed_factor() / hw.matmul_flops;
  const double pairs = 0.5 * l * (l + 1.0) / p;
  const double passes = m.attention_forward_passes(), layers = m.layers;
  if (scheme == CommScheme::all_to_all) {
    const auto t = attention_pass_times(pairs, SliceMask::causal, l, c);
    const double q = m.q_heads / p, kv = std::max<double>(m.kv_heads, p) / p, unit = m.head_dim * hw.element_bytes;
    const double mine = l / p, others = l - mine;
    const double forward = ((p - 1) * mine * (q + 2 * kv) + others * q) * unit;
    const double backward = ((p - 1) * mine * q + others * (q + 2 * kv)) * unit;
    const double bw = hw.a2a_bandwidth(size, spans), latency = spans ? hw.inter_latency : hw.intra_latency;
    const double comm = layers * (passes * (forward / bw + 4 * (p - 1) * latency) + backward / bw + 4 * (p - 1) * latency);
    return linear + passes * t.forward_s + t.backward_s + comm;
  }
  const auto t = attention_pass_times(pairs, size > 1 ? SliceMask::full : SliceMask::causal, size > 1 ? l / (2 * p) : l, c);
  double exposed = 0.0;
  if (size > 1) {
    const double bytes = 0.75 * l * (p - 1) / p * m.kv_bytes_per_token(hw.element_bytes);
    const double bw = spans ? hw.inter_bandwidth : hw.intra_bandwidth, latency = spans ? hw.inter_latency : hw.intra_latency;
    const double stages = p - 1;
    auto hidden = [&](double b, double attention_layer) {
      return stages * std::max(0.0, b / stages / bw + latency - attention_layer / (stages + 1));
    };
    exposed = layers * (passes * hidden(bytes, t.forward_s / layers) + hidden(2 * bytes, t.backward_s / layers));
  }
  return linear + passes * t.forward_s + t.backward_s + exposed;
}

}  // namespace flexcp::sched
