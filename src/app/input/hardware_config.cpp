#include "app/input/hardware_config.hpp"

#include "app/input/toml_reader.hpp"

namespace flexcp {

sched::HardwareProfile read_hardware(const toml::table& table, const std::string& source, const KeyOrigins& origins) {
  TableReader in(&table, "hardware", source, &origins);
  sched::HardwareProfile h;
  auto required = [&](const char* key, const char* what) { return in.required(in.number(key, 0.0), key, what); };
  h.name = in.required(in.string("name"), "name", "a label for the profile");
  h.matmul_flops = 1e12 * required("matmul_tflops", "achieved dense TFLOP/s per rank for linear layers");
  h.attention_flops = 1e12 * required("attention_tflops", "achieved TFLOP/s per rank for attention");
  h.intra_bandwidth = 1e9 * required("intra_node_gbps", "point-to-point GB/s per rank inside a node");
  h.inter_bandwidth = 1e9 * required("inter_node_gbps", "point-to-point GB/s per rank across nodes");
  h.intra_latency = 1e-6 * in.number("intra_node_latency_us", -1.0).value_or(0.0);
  h.inter_latency = 1e-6 * in.number("inter_node_latency_us", -1.0).value_or(0.0);
  h.a2a_intra_bandwidth = 1e9 * required("a2a_intra_node_gbps", "all-to-all GB/s per rank inside a node");
  for (const auto& [size, gbps] : in.size_value_pairs("a2a_inter_node_gbps").value_or(std::vector<std::pair<std::int64_t, double>>{}))
    h.a2a_inter_bandwidth.emplace_back(static_cast<int>(size), 1e9 * gbps);
  h.memory_bytes = 1073741824.0 * required("memory_gib", "memory per rank in GiB");
  h.usable_memory_fraction = in.number("usable_memory_fraction", 0.0).value_or(0.9);
  if (h.usable_memory_fraction > 1.0) in.fail("usable_memory_fraction", "must be in (0, 1]");
  h.element_bytes = in.number("element_bytes", 0.0).value_or(2.0);
  h.microbatch_overhead_s = 1e-3 * in.number("microbatch_overhead_ms", -1.0).value_or(0.0);
  h.communicator_create_s = 1e-3 * in.number("communicator_create_ms", -1.0).value_or(0.0);
  h.communicator_memory_bytes = 1048576.0 * in.number("communicator_memory_mib", -1.0).value_or(0.0);
  in.finish();
  return h;
}

}  // namespace flexcp
