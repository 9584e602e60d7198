#pragma once
// A hardware profile: the achieved rates the cost model divides by. Profiles live in
// inputs/hardware/*.toml with the source of every number.
#include <string>
#include <utility>
#include <vector>

#include "sched/attention_kernel.hpp"

namespace flexcp::sched {

struct HardwareProfile {
  std::string name;
  double matmul_flops = 1.0;       // achieved dense FLOP/s per rank, linear layers
  double attention_flops = 1.0;    // achieved FLOP/s per rank, attention kernels (no kernel table)
  // Measured attention rates by slice shape; when present they replace attention_flops.
  AttentionKernelRates attention_kernel{};
  double intra_bandwidth = 1.0;    // point-to-point bytes/s per rank per direction, same node
  double inter_bandwidth = 1.0;    // point-to-point bytes/s per rank per direction, across nodes
  double intra_latency = 0.0;      // seconds per message
  double inter_latency = 0.0;
  double a2a_intra_bandwidth = 1.0;  // all-to-all algorithm bandwidth per rank inside a node
  // All-to-all bandwidth per rank across nodes by group size (ascending sizes); a group uses
  // the entry of the largest size <= its own, the first entry below that.
  std::vector<std::pair<int, double>> a2a_inter_bandwidth;
  double memory_bytes = 1.0;         // per rank
  double usable_memory_fraction = 0.9;
  double element_bytes = 2.0;        // activations and KV in bf16
  double microbatch_overhead_s = 0.0;  // fixed cost per micro-batch (launches, optimizer hooks)
  // Creating group communicators: one round (an ncclCommSplit over the world, making every
  // missing rank set of a micro-batch at once), and the memory each live one holds per member.
  double communicator_create_s = 0.0;
  double communicator_memory_bytes = 0.0;

  double a2a_bandwidth(int group_size, bool spans_nodes) const;
};

}  // namespace flexcp::sched
