#pragma once
// A small grouped-query model and a plausible machine, shared by the planner tests.
#include "sched/hardware.hpp"
#include "sched/model_shape.hpp"

namespace flexcp::sched::fixtures {

// H_q = 8, H_kv = 4: head-parallel groups of 1, 2, 4 and 8 ranks.
inline ModelShape small_model() {
  return {.name = "test", .layers = 4, .hidden = 512, .q_heads = 8, .kv_heads = 4, .head_dim = 64, .ffn_hidden = 1024,
          .activation_bytes_per_token = 1e5, .state_bytes_per_param = 0.0};
}

inline HardwareProfile test_hardware(double memory_bytes) {
  return {.name = "test", .matmul_flops = 100e12, .attention_flops = 50e12, .intra_bandwidth = 200e9,
          .inter_bandwidth = 20e9, .intra_latency = 5e-6, .inter_latency = 10e-6, .a2a_intra_bandwidth = 100e9,
          .a2a_inter_bandwidth = {{16, 10e9}, {64, 5e9}}, .memory_bytes = memory_bytes, .usable_memory_fraction = 1.0};
}

}  // namespace flexcp::sched::fixtures
