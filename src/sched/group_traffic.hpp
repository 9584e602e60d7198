#pragma once
// Bytes and messages one member of a group sends per layer for the group's split documents
// (docs/cost-model.md, "Communication"), in two legs the cost model times differently:
// point-to-point stages pipelined behind attention (ring, needed-KV, the ring of a2a+p2p), and
// collectives that are not overlapped (all-gather / reduce-scatter, all-to-all, the all-to-all
// of a2a+p2p). The bytes are exactly what the executors send for the same plan.
#include <vector>

#include "sched/cost_model.hpp"

namespace flexcp::sched {

struct TrafficLeg {
  double forward_bytes = 0.0, backward_bytes = 0.0;
  // Messages per direction, each paying the per-message latency. Pipelined legs: one per stage.
  int forward_messages = 0, backward_messages = 0;
  int group_size = 0;        // ranks taking part (the all-to-all bandwidth depends on it)
  bool spans_nodes = false;  // inter-node bandwidth and latency
  bool all_to_all = false;   // all-to-all bandwidth rather than point-to-point
  double bytes() const { return forward_bytes + backward_bytes; }
};

struct MemberTraffic {
  TrafficLeg pipelined;   // stage s's messages overlap stage s-1's attention
  TrafficLeg collective;  // not overlapped with compute
};

// What a leg's messages take on the wire: its bandwidth and per-message latency.
struct LegTimes {
  double bandwidth = 1.0, latency = 0.0;
};
LegTimes leg_times(const TrafficLeg& leg, const HardwareProfile& hardware);

// One entry per member of `group`; all zero for a group of one or without split documents.
std::vector<MemberTraffic> group_traffic(const Plan& plan, const CpGroup& group, const CostContext& context);
// The same, given each member's tokens of the group's split documents (the cost model has them
// already: summed per member in document order, as group_traffic sums them).
std::vector<MemberTraffic> group_traffic(const Plan& plan, const CpGroup& group, const CostContext& context,
                                         std::vector<double> split_tokens);

}  // namespace flexcp::sched
