#include "sched/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/error.hpp"
#include "sched/group_traffic.hpp"
#include "sched/split_share.hpp"

namespace flexcp::sched {
namespace {

double causal_pairs(std::int64_t length) { return 0.5 * static_cast<double>(length) * static_cast<double>(length + 1); }


// Per layer and direction: pipelined stages each move bytes / stages and hide behind the share
// of attention computed meanwhile (1 / (stages + 1): TransformerEngine's ring at its best, the
// next stage's transfer fully overlapped with the current stage's compute).
double pipelined_exposed(double bytes, int stages, double hidden_attention, const LegTimes& t) {
  if (stages <= 0 || bytes <= 0.0) return 0.0;
  return stages * std::max(0.0, bytes / stages / t.bandwidth + t.latency - hidden_attention / (stages + 1));
}
double collective_time(double bytes, int messages, const LegTimes& t) {
  return bytes <= 0.0 ? 0.0 : bytes / t.bandwidth + messages * t.latency;
}
}  // namespace

AttentionPassTimes attention_pass_times(double pairs, SliceMask mask, double slice_length, const CostContext& c) {
  const double forward_flops = pairs * c.model.attention_flops_per_pair();
  const double backward_flops = (kAttentionTrainingFactor - 1.0) * forward_flops;
  const auto& kernel = c.hardware.attention_kernel;
  if (kernel.empty()) return {forward_flops / c.hardware.attention_flops, backward_flops / c.hardware.attention_flops};
  return {forward_flops / kernel.forward(mask, slice_length), backward_flops / kernel.backward(mask, slice_length)};
}

double single_rank_work_s(std::int64_t length, const CostContext& c) {
  const auto& m = c.model;
  const double linear = c.attention_only ? 0.0 : m.linear_flops_per_token();
  const auto attention = attention_pass_times(causal_pairs(length), SliceMask::causal, static_cast<double>(length), c);
  return static_cast<double>(length) * linear * m.linear_executed_factor() / c.hardware.matmul_flops +
         m.attention_forward_passes() * attention.forward_s + attention.backward_s;
}

std::vector<RankCost> group_member_costs(const Plan& plan, const CpGroup& group, const CostContext& c) {
  const auto& m = c.model;
  const int p = static_cast<int>(group.ranks.size());
  std::vector<RankCost> members(static_cast<std::size_t>(p));
  // Each member's tokens of the split documents, for the traffic model.
  std::vector<double> split_tokens(static_cast<std::size_t>(p), 0.0);
  std::vector<MemberShare> shares;
  // Compute: tokens and mask area of every member, each piece at its slice shape's rate.
  for (const auto& d : group.docs) {
    const auto length = plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
    auto add = [&](RankCost& r, std::int64_t tokens, double pairs, SliceMask mask, double slice_length) {
      r.tokens += tokens;
      r.mask_pairs += pairs;
      const auto t = attention_pass_times(pairs, mask, slice_length, c);
      r.attention_forward_s += t.forward_s;
      r.attention_backward_s += t.backward_s;
    };
    if (d.sharding == Sharding::whole) {
      add(members[static_cast<std::size_t>(d.owner)], length, causal_pairs(length), SliceMask::causal,
          static_cast<double>(length));
      continue;
    }
    // Every member runs a split document at one slice shape (member_shares), so the kernel's
    // rates are looked up once per document; the per-member arithmetic is attention_pass_times'.
    if (p == 0) continue;
    member_shares(length, group, shares);
    const auto& kernel = c.hardware.attention_kernel;
    const auto& front = shares.front();
    const double forward_rate = kernel.empty() ? c.hardware.attention_flops : kernel.forward(front.mask, front.slice_length);
    const double backward_rate = kernel.empty() ? c.hardware.attention_flops : kernel.backward(front.mask, front.slice_length);
    const double per_pair = m.attention_flops_per_pair();
    for (int i = 0; i < p; ++i) {
      const auto& share = shares[static_cast<std::size_t>(i)];
      auto& r = members[static_cast<std::size_t>(i)];
      r.tokens += share.tokens;
      r.mask_pairs += share.mask_pairs;
      const double forward_flops = share.mask_pairs * per_pair;
      const double backward_flops = (kAttentionTrainingFactor - 1.0) * forward_flops;
      r.attention_forward_s += forward_flops / forward_rate;
      r.attention_backward_s += backward_flops / backward_rate;
      split_tokens[static_cast<std::size_t>(i)] += static_cast<double>(share.tokens);
    }
  }
  for (auto& r : members) {
    r.linear_s = c.attention_only ? 0.0
                                  : static_cast<double>(r.tokens) * m.linear_flops_per_token() * m.linear_executed_factor() /
                                        c.hardware.matmul_flops;
    r.attention_s = m.attention_forward_passes() * r.attention_forward_s + r.attention_backward_s;
  }
  if (p < 2) return members;
  // Communication, overlapped with each member's attention where the scheme allows. A
  // recomputed attention forward (activation checkpointing) moves its data again.
  const double forward_passes = m.attention_forward_passes();
  const auto traffic = group_traffic(plan, group, c, std::move(split_tokens));
  for (int i = 0; i < p; ++i) {
    auto& r = members[static_cast<std::size_t>(i)];
    const auto& pipe = traffic[static_cast<std::size_t>(i)].pipelined;
    const auto& coll = traffic[static_cast<std::size_t>(i)].collective;
    if (pipe.bytes() + coll.bytes() <= 0.0) continue;
    r.bytes_sent += m.layers * (forward_passes * (pipe.forward_bytes + coll.forward_bytes) + pipe.backward_bytes +
                                coll.backward_bytes);
    const double attention_forward = r.attention_forward_s / m.layers, attention_backward = r.attention_backward_s / m.layers;
    const auto pipe_t = leg_times(pipe, c.hardware), coll_t = leg_times(coll, c.hardware);
    const double forward = pipelined_exposed(pipe.forward_bytes, pipe.forward_messages, attention_forward, pipe_t) +
                           collective_time(coll.forward_bytes, coll.forward_messages, coll_t);
    const double backward = pipelined_exposed(pipe.backward_bytes, pipe.backward_messages, attention_backward, pipe_t) +
                            collective_time(coll.backward_bytes, coll.backward_messages, coll_t);
    r.exposed_comm_s += m.layers * (forward_passes * forward + backward);
  }
  return members;
}

double group_time_s(const Plan& plan, const CpGroup& group, const CostContext& c) {
  double slowest = 0.0;
  for (const auto& r : group_member_costs(plan, group, c)) slowest = std::max(slowest, r.busy_s() + r.exposed_comm_s);
  return slowest;
}

PlanCost evaluate_plan(const Plan& plan, const CostContext& c) {
  const int ranks = c.cluster.ranks();
  const auto& m = c.model;
  const auto& hw = c.hardware;
  PlanCost cost;
  cost.ranks.assign(static_cast<std::size_t>(ranks), {});
  for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
    std::vector<RankCost> now(static_cast<std::size_t>(ranks));
    // Groups are disjoint: each rank's micro-batch is its group's.
    for (const auto& group : plan.micro_batches[mb].groups) {
      auto members = group_member_costs(plan, group, c);
      for (std::size_t i = 0; i < members.size(); ++i) now[static_cast<std::size_t>(group.ranks[i])] = members[i];
    }
    double slowest = 0.0;
    for (std::size_t i = 0; i < now.size(); ++i) {
      slowest = std::max(slowest, now[i].busy_s() + now[i].exposed_comm_s);
      auto& total = cost.ranks[i];
      total.tokens += now[i].tokens;
      total.mask_pairs += now[i].mask_pairs;
      total.linear_s += now[i].linear_s;
      total.attention_s += now[i].attention_s;
      total.attention_forward_s += now[i].attention_forward_s;
      total.attention_backward_s += now[i].attention_backward_s;
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

std::int64_t capacity_tokens(const ModelShape& model, const HardwareProfile& hw, int ranks, double reserved_bytes) {
  const double states = model.state_bytes_per_param * model.parameters() / ranks;
  const double usable = hw.memory_bytes * hw.usable_memory_fraction - states - reserved_bytes;
  if (model.activation_bytes_per_token <= 0.0)
    throw ConfigError("model '" + model.name + "': activation_bytes_per_token must be > 0 for planning");
  if (usable < model.activation_bytes_per_token)
    throw ConfigError("model '" + model.name + "' does not fit: its states take " + std::to_string(states / 1e9) +
                      " GB per rank on " + std::to_string(ranks) + " ranks" +
                      (reserved_bytes > 0.0 ? " and other components keep " + std::to_string(reserved_bytes / 1e9) + " GB"
                                            : std::string()) +
                      ", the hardware offers " + std::to_string(hw.memory_bytes * hw.usable_memory_fraction / 1e9) +
                      " GB (use more ranks)");
  // Clamped to 2^50 tokens: a profile with absurd memory must not overflow the conversion (and
  // every product with a rank count below 2^13 stays in 64 bits).
  return static_cast<std::int64_t>(std::min(usable / model.activation_bytes_per_token, 0x1p50));
}

}  // namespace flexcp::sched
