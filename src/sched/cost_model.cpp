#include "sched/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {

double causal_pairs(std::int64_t length) { return 0.5 * static_cast<double>(length) * static_cast<double>(length + 1); }

struct GroupComm {  // per layer, for one member
  double forward_bytes = 0.0;
  double backward_bytes = 0.0;
};

// Bytes one member sends per layer for the group's split documents under the group's scheme.
std::vector<GroupComm> group_traffic(const Plan& plan, const CpGroup& group, const CostContext& c) {
  const int p = static_cast<int>(group.ranks.size());
  std::vector<GroupComm> comm(static_cast<std::size_t>(p));
  std::vector<double> shard(static_cast<std::size_t>(p), 0.0), needed(shard.size(), 0.0), served(shard.size(), 0.0);
  bool any_split = false;
  for (const auto& d : group.docs) {
    if (d.sharding != Sharding::split) continue;
    any_split = true;
    const auto length = plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
    for (int i = 0; i < p; ++i) shard[static_cast<std::size_t>(i)] += static_cast<double>(zigzag::tokens(length, p, i));
    if (group.comm == CommScheme::needed_kv) zigzag::add_kv_exchange(length, p, needed, served);
  }
  if (!any_split || p == 1) return comm;
  const double kv = c.model.kv_bytes_per_token(c.hardware.element_bytes);
  double total = 0.0;
  for (double t : shard) total += t;
  for (int i = 0; i < p; ++i) {
    const auto me = static_cast<std::size_t>(i);
    const double next_shard = shard[static_cast<std::size_t>((i + 1) % p)];
    auto& out = comm[me];
    switch (group.comm) {
      case CommScheme::ring:  // P-1 shards forward; the same again backward plus every dK/dV partial
        out.forward_bytes = (total - next_shard) * kv;
        out.backward_bytes = (total - next_shard) * kv + total * kv;
        break;
      case CommScheme::all_gather:  // ring all-gather forward (all but the next member's shard),
                                    // ring reduce-scatter of dK/dV backward (all but its own)
        out.forward_bytes = (total - next_shard) * kv;
        out.backward_bytes = (total - shard[me]) * kv;
        break;
      case CommScheme::needed_kv:  // serve what peers need, twice; return dK/dV of what was received
        out.forward_bytes = served[me] * kv;
        out.backward_bytes = served[me] * kv + needed[me] * kv;
        break;
      case CommScheme::all_to_all: {
        // Forward: this member's split tokens go to each peer with that peer's Q, K and V heads;
        // O of every peer's tokens comes back for this member's heads. Backward: dO out the same
        // way; dQ, dK, dV of every peer's tokens back. KV heads are replicated when P > H_kv.
        const double q_heads = static_cast<double>(c.model.q_heads) / p;
        const double kv_heads = static_cast<double>(std::max(c.model.kv_heads, p)) / p;
        const double unit = c.model.head_dim * c.hardware.element_bytes;
        const double others = total - shard[me];
        out.forward_bytes = ((p - 1) * shard[me] * (q_heads + 2.0 * kv_heads) + others * q_heads) * unit;
        out.backward_bytes = ((p - 1) * shard[me] * q_heads + others * (q_heads + 2.0 * kv_heads)) * unit;
        break;
      }
    }
  }
  return comm;
}
}  // namespace

double single_rank_work_s(std::int64_t length, const CostContext& c) {
  const auto& m = c.model;
  const auto& hw = c.hardware;
  const double linear = c.attention_only ? 0.0 : m.linear_flops_per_token();
  return static_cast<double>(length) * linear * kLinearTrainingFactor / hw.matmul_flops +
         causal_pairs(length) * m.attention_flops_per_pair() * kAttentionTrainingFactor / hw.attention_flops;
}

PlanCost evaluate_plan(const Plan& plan, const CostContext& c) {
  const int ranks = c.cluster.ranks();
  const auto& m = c.model;
  const auto& hw = c.hardware;
  PlanCost cost;
  cost.ranks.assign(static_cast<std::size_t>(ranks), {});
  for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
    std::vector<RankCost> now(static_cast<std::size_t>(ranks));
    const auto& groups = plan.micro_batches[mb].groups;
    // Pass 1: tokens and mask area of every rank.
    for (const auto& group : groups) {
      const int p = static_cast<int>(group.ranks.size());
      for (const auto& d : group.docs) {
        const auto length = plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
        if (d.sharding == Sharding::whole) {
          auto& r = now[static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(d.owner)])];
          r.tokens += length;
          r.mask_pairs += causal_pairs(length);
          continue;
        }
        for (int i = 0; i < p; ++i) {
          auto& r = now[static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(i)])];
          r.tokens += zigzag::tokens(length, p, i);
          // Head-parallel (all-to-all) ranks compute every pair for 1/P of the heads.
          r.mask_pairs += group.comm == CommScheme::all_to_all ? causal_pairs(length) / p : zigzag::area(length, p, i);
        }
      }
    }
    for (auto& r : now) {
      r.linear_s = c.attention_only ? 0.0
                                    : static_cast<double>(r.tokens) * m.linear_flops_per_token() * kLinearTrainingFactor /
                                          hw.matmul_flops;
      r.attention_s = r.mask_pairs * m.attention_flops_per_pair() * kAttentionTrainingFactor / hw.attention_flops;
    }
    // Pass 2: communication, overlapped with each member's attention where the scheme allows.
    for (const auto& group : groups) {
      const int p = static_cast<int>(group.ranks.size());
      if (p < 2) continue;
      const bool spans = c.cluster.node_of(group.ranks.front()) != c.cluster.node_of(group.ranks.back());
      const double latency = spans ? hw.inter_latency : hw.intra_latency;
      const double bandwidth = group.comm == CommScheme::all_to_all ? hw.a2a_bandwidth(p, spans)
                                                                     : (spans ? hw.inter_bandwidth : hw.intra_bandwidth);
      const auto traffic = group_traffic(plan, group, c);
      for (int i = 0; i < p; ++i) {
        auto& r = now[static_cast<std::size_t>(group.ranks[static_cast<std::size_t>(i)])];
        const auto& t = traffic[static_cast<std::size_t>(i)];
        if (t.forward_bytes + t.backward_bytes <= 0.0) continue;
        r.bytes_sent += m.layers * (t.forward_bytes + t.backward_bytes);
        double per_layer = 0.0;
        if (group.comm == CommScheme::ring || group.comm == CommScheme::needed_kv) {
          const double stages = p - 1;
          const double attention_forward = r.attention_s / m.layers / kAttentionTrainingFactor;
          const double hidden_forward = attention_forward / p, hidden_backward = 2.5 * attention_forward / p;
          per_layer = stages * (std::max(0.0, t.forward_bytes / stages / bandwidth + latency - hidden_forward) +
                                std::max(0.0, t.backward_bytes / stages / bandwidth + latency - hidden_backward));
        } else {
          per_layer = (t.forward_bytes + t.backward_bytes) / bandwidth + 2.0 * (p - 1) * latency;
        }
        r.exposed_comm_s += m.layers * per_layer;
      }
    }
    double slowest = 0.0;
    for (std::size_t i = 0; i < now.size(); ++i) {
      slowest = std::max(slowest, now[i].busy_s() + now[i].exposed_comm_s);
      auto& total = cost.ranks[i];
      total.tokens += now[i].tokens;
      total.mask_pairs += now[i].mask_pairs;
      total.linear_s += now[i].linear_s;
      total.attention_s += now[i].attention_s;
      total.exposed_comm_s += now[i].exposed_comm_s;
      total.bytes_sent += now[i].bytes_sent;
    }
    cost.micro_batch_s.push_back(slowest + hw.microbatch_overhead_s);
    cost.step_time_s += cost.micro_batch_s.back();
  }
  double busy_sum = 0.0, busy_max = 0.0;
  for (const auto& r : cost.ranks) {
    busy_sum += r.busy_s();
    busy_max = std::max(busy_max, r.busy_s());
    cost.bytes_sent += r.bytes_sent;
  }
  cost.busy_imbalance = busy_sum > 0.0 ? busy_max / (busy_sum / ranks) : 1.0;
  for (auto length : plan.batch.doc_lengths)
    cost.model_flops += static_cast<double>(length) * (c.attention_only ? 0.0 : m.linear_flops_per_token()) * kLinearTrainingFactor +
                        causal_pairs(length) * m.attention_flops_per_pair() * kAttentionTrainingFactor;
  return cost;
}

double lower_bound_step_s(const Batch& batch, const CostContext& c, std::int64_t capacity_tokens) {
  double work = 0.0;
  for (auto length : batch.doc_lengths) work += single_rank_work_s(length, c);
  const double ranks = c.cluster.ranks();
  const double fewest_micro_batches =
      std::max(1.0, std::ceil(static_cast<double>(batch.total_tokens()) / (ranks * static_cast<double>(capacity_tokens))));
  return work / ranks + fewest_micro_batches * c.hardware.microbatch_overhead_s;
}

std::int64_t capacity_tokens(const ModelShape& model, const HardwareProfile& hw, int ranks) {
  const double states = model.state_bytes_per_param * model.parameters() / ranks;
  const double usable = hw.memory_bytes * hw.usable_memory_fraction - states;
  if (model.activation_bytes_per_token <= 0.0)
    throw ConfigError("model '" + model.name + "': activation_bytes_per_token must be > 0 for planning");
  if (usable < model.activation_bytes_per_token)
    throw ConfigError("model '" + model.name + "' does not fit: its states take " + std::to_string(states / 1e9) +
                      " GB per rank on " + std::to_string(ranks) + " ranks, the hardware offers " +
                      std::to_string(hw.memory_bytes * hw.usable_memory_fraction / 1e9) + " GB (use more ranks)");
  return static_cast<std::int64_t>(usable / model.activation_bytes_per_token);
}

}  // namespace flexcp::sched
