#include "sched/split_estimate.hpp"

#include <algorithm>
#include <initializer_list>
#include <limits>

#include "sched/hybrid_layout.hpp"

namespace flexcp::sched {
namespace {

// Per layer, all passes: the all-to-all of an average member of `members` ranks over `tokens`
// tokens (4 transposes each way, not overlapped).
double all_to_all_s(double tokens, int members, bool spans, const CostContext& c) {
  const auto& m = c.model;
  const auto& hw = c.hardware;
  const double p = members;
  const double q = m.q_heads / p, kv = std::max<double>(m.kv_heads, p) / p, unit = m.head_dim * hw.element_bytes;
  const double mine = tokens / p, others = tokens - mine;
  const double forward = ((p - 1) * mine * (q + 2 * kv) + others * q) * unit;
  const double backward = ((p - 1) * mine * q + others * (q + 2 * kv)) * unit;
  const double bw = hw.a2a_bandwidth(members, spans), latency = spans ? hw.inter_latency : hw.intra_latency;
  return m.attention_forward_passes() * (forward / bw + 4 * (p - 1) * latency) + backward / bw + 4 * (p - 1) * latency;
}

// Per layer, all passes: what needed-KV among `holders` zigzag positions of a `length`-token
// document leaves exposed behind the attention `t` (all layers), `kv` bytes per token.
double needed_kv_exposed_s(double length, int holders, double kv, bool spans, const AttentionPassTimes& t,
                           const CostContext& c) {
  const auto& hw = c.hardware;
  const double n = holders, layers = c.model.layers;
  const double bytes = 0.75 * length * (n - 1) / n * kv;
  const double bw = spans ? hw.inter_bandwidth : hw.intra_bandwidth, latency = spans ? hw.inter_latency : hw.intra_latency;
  const double stages = n - 1;
  auto hidden = [&](double b, double attention_layer) {
    return stages * std::max(0.0, b / stages / bw + latency - attention_layer / (stages + 1));
  };
  return c.model.attention_forward_passes() * hidden(bytes, t.forward_s / layers) + hidden(2 * bytes, t.backward_s / layers);
}

// The fastest estimate of the schemes in `schemes` at one size.
double fastest_estimate(std::int64_t length, int size, std::initializer_list<CommScheme> schemes, const CostContext& c,
                        int hybrid_block) {
  const auto& m = c.model;
  const auto& hw = c.hardware;
  const double l = static_cast<double>(length), p = size;
  const bool spans = size > c.cluster.ranks_per_node;
  const double linear = c.attention_only ? 0.0 : l / p * m.linear_flops_per_token() * m.linear_executed_factor() / hw.matmul_flops;
  const double pairs = 0.5 * l * (l + 1.0) / p;
  const double passes = m.attention_forward_passes(), layers = m.layers;
  double best = std::numeric_limits<double>::infinity();
  for (auto scheme : schemes) {
    if (scheme == CommScheme::all_to_all) {
      const auto t = attention_pass_times(pairs, SliceMask::causal, l, c);
      best = std::min(best, linear + passes * t.forward_s + t.backward_s + layers * all_to_all_s(l, size, spans, c));
      continue;
    }
    double comm = 0.0;
    AttentionPassTimes t;
    if (scheme == CommScheme::hybrid) {
      // Blocks of `inner` inside nodes, each block's sequence in position order (zigzag chunks
      // over size / inner positions): all-to-all over a block's share, needed-KV across blocks
      // for one member's share of the KV heads.
      const int inner = std::max(1, hybrid_block > 0 ? hybrid_block : hybrid_inner(size, c.cluster, m));
      const double kv_heads = static_cast<double>(std::max(m.kv_heads, inner)) / inner;
      t = attention_pass_times(pairs, SliceMask::full, l * inner / (2 * p), c);
      comm = all_to_all_s(l * inner / p, inner, false, c) +
             needed_kv_exposed_s(l, size / inner, m.kv_bytes_per_token(hw.element_bytes) * kv_heads / m.kv_heads, spans, t, c);
    } else {
      t = attention_pass_times(pairs, size > 1 ? SliceMask::full : SliceMask::causal, size > 1 ? l / (2 * p) : l, c);
      if (size > 1) comm = needed_kv_exposed_s(l, size, m.kv_bytes_per_token(hw.element_bytes), spans, t, c);
    }
    best = std::min(best, linear + passes * t.forward_s + t.backward_s + layers * comm);
  }
  return best;
}
}  // namespace

double split_time_estimate(std::int64_t length, int size, CommScheme scheme, const CostContext& c, int hybrid_block) {
  return fastest_estimate(length, size, {scheme}, c, hybrid_block);
}

double fastest_split_estimate(std::int64_t length, int size, bool all_to_all, int hybrid_block, const CostContext& c) {
  if (all_to_all && hybrid_block > 0)
    return fastest_estimate(length, size, {CommScheme::needed_kv, CommScheme::all_to_all, CommScheme::hybrid}, c, hybrid_block);
  if (all_to_all) return fastest_estimate(length, size, {CommScheme::needed_kv, CommScheme::all_to_all}, c, 0);
  if (hybrid_block > 0) return fastest_estimate(length, size, {CommScheme::needed_kv, CommScheme::hybrid}, c, hybrid_block);
  return fastest_estimate(length, size, {CommScheme::needed_kv}, c, 0);
}

}  // namespace flexcp::sched
