#include "sched/group_traffic.hpp"

#include <algorithm>

#include "sched/split_share.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

// A ring of `shards` (tokens per ring position) passing KV of `kv` bytes per token: P-1 stages
// forward, each sending the shard received last (all but the next position's); backward the KV
// again plus every position's dK/dV partial.
TrafficLeg ring_leg(const std::vector<double>& shards, std::size_t position, double kv, bool spans) {
  const std::size_t n = shards.size();
  double total = 0.0;
  for (double t : shards) total += t;
  const double next = shards[(position + 1) % n];
  TrafficLeg leg;
  leg.forward_bytes = (total - next) * kv;
  leg.backward_bytes = (total - next) * kv + total * kv;
  leg.forward_messages = leg.backward_messages = static_cast<int>(n) - 1;
  leg.group_size = static_cast<int>(n);
  leg.spans_nodes = spans;
  return leg;
}

// Ulysses over `members` ranks (DeepSpeed-Ulysses, TransformerEngine's a2a): forward, this
// member's tokens go to each peer with that peer's Q, K and V heads and O of every peer's tokens
// comes back for this member's heads; backward, dO out the same way and dQ, dK, dV back. Four
// all-to-alls each way (Q, K, V, O; dO, dQ, dK, dV), P-1 messages each. KV heads are replicated
// when P > H_kv.
TrafficLeg all_to_all_leg(double mine, double others, int members, const ModelShape& m, double element_bytes,
                          bool spans) {
  const double q_heads = static_cast<double>(m.q_heads) / members;
  const double kv_heads = static_cast<double>(std::max(m.kv_heads, members)) / members;
  const double unit = m.head_dim * element_bytes;
  TrafficLeg leg;
  leg.forward_bytes = ((members - 1) * mine * (q_heads + 2.0 * kv_heads) + others * q_heads) * unit;
  leg.backward_bytes = ((members - 1) * mine * q_heads + others * (q_heads + 2.0 * kv_heads)) * unit;
  leg.forward_messages = leg.backward_messages = 4 * (members - 1);
  leg.group_size = members;
  leg.spans_nodes = spans;
  leg.all_to_all = true;
  return leg;
}

// Needed-KV among `positions` holders: serve what peers need (forward, and again backward), and
// return the dK/dV of what was received; one stage per peer.
TrafficLeg needed_kv_leg(double served, double needed, double kv, int positions, bool spans) {
  TrafficLeg leg;
  leg.forward_bytes = served * kv;
  leg.backward_bytes = served * kv + needed * kv;
  leg.forward_messages = leg.backward_messages = positions - 1;
  leg.group_size = positions;
  leg.spans_nodes = spans;
  return leg;
}
}  // namespace

LegTimes leg_times(const TrafficLeg& leg, const HardwareProfile& hw) {
  if (leg.all_to_all) return {hw.a2a_bandwidth(leg.group_size, leg.spans_nodes), leg.spans_nodes ? hw.inter_latency : hw.intra_latency};
  return leg.spans_nodes ? LegTimes{hw.inter_bandwidth, hw.inter_latency} : LegTimes{hw.intra_bandwidth, hw.intra_latency};
}

std::vector<MemberTraffic> group_traffic(const Plan& plan, const CpGroup& group, const CostContext& c) {
  const int p = static_cast<int>(group.ranks.size());
  std::vector<double> shard(static_cast<std::size_t>(p), 0.0);
  std::vector<MemberShare> shares;
  for (const auto& d : group.docs) {
    if (d.sharding != Sharding::split) continue;
    member_shares(plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)], group, shares);
    for (int i = 0; i < p; ++i) shard[static_cast<std::size_t>(i)] += static_cast<double>(shares[static_cast<std::size_t>(i)].tokens);
  }
  return group_traffic(plan, group, c, std::move(shard));
}

std::vector<MemberTraffic> group_traffic(const Plan& plan, const CpGroup& group, const CostContext& c,
                                         std::vector<double> shard) {
  const int p = static_cast<int>(group.ranks.size());
  std::vector<MemberTraffic> traffic(static_cast<std::size_t>(p));
  // Needed-KV runs over the members, or (hybrid) over the blocks, whose shards are the zigzag
  // positions of p / inner holders.
  const int block_size = std::max(1, group.inner);
  const int holders = group.comm == CommScheme::hybrid ? p / block_size : p;
  std::vector<double> needed(static_cast<std::size_t>(holders), 0.0), served(needed.size(), 0.0);
  bool any_split = false;
  for (const auto& d : group.docs) {
    if (d.sharding != Sharding::split) continue;
    any_split = true;
    const auto length = plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
    if (group.comm == CommScheme::needed_kv || group.comm == CommScheme::hybrid)
      zigzag::add_kv_exchange(length, holders, needed, served);
  }
  if (!any_split || p == 1) return traffic;
  const auto& cluster = c.cluster;
  auto spans = [&](int first, int last) {
    return cluster.node_of(group.ranks[static_cast<std::size_t>(first)]) !=
           cluster.node_of(group.ranks[static_cast<std::size_t>(last)]);
  };
  const bool group_spans = spans(0, p - 1);
  const double kv = c.model.kv_bytes_per_token(c.hardware.element_bytes);
  double total = 0.0;
  for (double t : shard) total += t;
  // The all-to-all of member i inside its block of `block_size` members (hierarchical, hybrid).
  auto block_all_to_all = [&](int i) {
    const int first = i / block_size * block_size;
    double block_tokens = 0.0;
    for (int j = first; j < first + block_size; ++j) block_tokens += shard[static_cast<std::size_t>(j)];
    const auto mine = shard[static_cast<std::size_t>(i)];
    return all_to_all_leg(mine, block_tokens - mine, block_size, c.model, c.hardware.element_bytes,
                          spans(first, first + block_size - 1));
  };
  // KV bytes per token of one member's share of the heads after its block's all-to-all: 1/inner
  // of the KV heads, or one replicated head when inner > H_kv.
  const double block_kv_heads = static_cast<double>(std::max(c.model.kv_heads, block_size)) / block_size;
  const double block_kv = kv * block_kv_heads / c.model.kv_heads;
  for (int i = 0; i < p; ++i) {
    const auto me = static_cast<std::size_t>(i);
    auto& out = traffic[me];
    switch (group.comm) {
      case CommScheme::ring: out.pipelined = ring_leg(shard, me, kv, group_spans); break;
      case CommScheme::needed_kv: out.pipelined = needed_kv_leg(served[me], needed[me], kv, p, group_spans); break;
      case CommScheme::all_gather:  // ring all-gather forward (all but the next member's shard),
                                    // ring reduce-scatter of dK/dV backward (all but its own)
        out.collective.forward_bytes = (total - shard[static_cast<std::size_t>((i + 1) % p)]) * kv;
        out.collective.backward_bytes = (total - shard[me]) * kv;
        out.collective.forward_messages = out.collective.backward_messages = p - 1;
        out.collective.group_size = p;
        out.collective.spans_nodes = group_spans;
        break;
      case CommScheme::all_to_all:
        out.collective = all_to_all_leg(shard[me], total - shard[me], p, c.model, c.hardware.element_bytes, group_spans);
        break;
      case CommScheme::hierarchical: {
        // All-to-all inside this member's block, then a ring over the blocks carrying the KV of
        // this member's share of the heads.
        if (block_size > 1) out.collective = block_all_to_all(i);
        std::vector<double> ring(static_cast<std::size_t>(p / block_size), 0.0);
        for (int j = 0; j < p; ++j) ring[static_cast<std::size_t>(j / block_size)] += shard[static_cast<std::size_t>(j)];
        if (ring.size() > 1) out.pipelined = ring_leg(ring, static_cast<std::size_t>(i / block_size), block_kv, group_spans);
        break;
      }
      case CommScheme::hybrid: {
        // All-to-all inside this member's block (one node), then needed-KV with the members of
        // the other blocks that hold the same heads.
        out.collective = block_all_to_all(i);
        const auto block = static_cast<std::size_t>(i / block_size);
        out.pipelined = needed_kv_leg(served[block], needed[block], block_kv, holders, group_spans);
        break;
      }
    }
  }
  return traffic;
}

}  // namespace flexcp::sched
