#include "app/input/hardware_config.hpp"

#include "app/input/toml_reader.hpp"

namespace flexcp {
namespace {
constexpr double kTera = 1e12;

// [hardware.attention_kernel]: measured TFLOP/s by slice length, flexcp's kernels and the
// reference (the best kernels measured on the same machine); `use` picks the set the cost model
// applies to every strategy.
sched::AttentionKernelRates read_attention_kernel(TableReader& in, const KeyOrigins& origins) {
  const std::string key = "attention_kernel";
  const auto* table = in.subtable(key);
  if (table == nullptr) return {};
  TableReader k(table, in.prefix() + "." + key, in.origin(key), &origins);
  auto source = k.required(k.string("source"), "source", "where the figures were measured (machine, date, command)");
  const auto lengths = k.required(k.numbers("lengths", 0.0), "lengths", "slice lengths, ascending");
  const auto use = k.string("use").value_or("flexcp");
  if (use != "flexcp" && use != "reference") k.fail("use", "\"" + use + "\" is not allowed: \"flexcp\" or \"reference\"");
  const std::string series_prefix = use == "reference" ? "reference_" : "";
  auto series = [&](const std::string& name) {
    std::vector<double> tflops = k.required(k.numbers(series_prefix + name, 0.0), series_prefix + name,
                                            "TFLOP/s at each length (use = \"" + use + "\")");
    for (auto& v : tflops) v *= kTera;
    return tflops;
  };
  sched::AttentionKernelRates::Series rates;
  rates.forward_causal = series("forward_causal_tflops");
  rates.forward_full = series("forward_full_tflops");
  rates.backward_causal = series("backward_causal_tflops");
  rates.backward_full = series("backward_full_tflops");
  // The other set stays in the file for comparison; read it so finish() accepts it.
  const std::string other = use == "reference" ? "" : "reference_";
  for (const char* name : {"forward_causal_tflops", "forward_full_tflops", "backward_causal_tflops", "backward_full_tflops"})
    k.numbers(other + name, 0.0);
  k.finish();
  return {std::move(source), lengths, rates, in.origin(key) + ": " + in.prefix() + "." + key};
}
}  // namespace

sched::HardwareProfile read_hardware(const toml::table& table, const std::string& source, const KeyOrigins& origins) {
  TableReader in(&table, "hardware", source, &origins);
  sched::HardwareProfile h;
  auto required = [&](const char* key, const char* what) { return in.required(in.number(key, 0.0), key, what); };
  h.name = in.required(in.string("name"), "name", "a label for the profile");
  h.matmul_flops = 1e12 * required("matmul_tflops", "achieved dense TFLOP/s per rank for linear layers");
  h.attention_flops = 1e12 * required("attention_tflops", "achieved TFLOP/s per rank for attention");
  h.intra_bandwidth = 1e9 * required("intra_node_gbps", "point-to-point GB/s per rank inside a node");
  h.inter_bandwidth = 1e9 * required("inter_node_gbps", "point-to-point GB/s per rank across nodes");
  h.intra_latency = 1e-6 * in.non_negative("intra_node_latency_us").value_or(0.0);
  h.inter_latency = 1e-6 * in.non_negative("inter_node_latency_us").value_or(0.0);
  h.a2a_intra_bandwidth = 1e9 * required("a2a_intra_node_gbps", "all-to-all GB/s per rank inside a node");
  for (const auto& [size, gbps] : in.size_value_pairs("a2a_inter_node_gbps").value_or(std::vector<std::pair<std::int64_t, double>>{}))
    h.a2a_inter_bandwidth.emplace_back(static_cast<int>(size), 1e9 * gbps);
  // At most 1 PiB per rank: far above any device, and small enough that every token count
  // derived from it fits in 64 bits.
  h.memory_bytes = 1073741824.0 * in.required(in.number("memory_gib", 0.0, 1048576.0), "memory_gib", "memory per rank in GiB");
  h.usable_memory_fraction = in.number("usable_memory_fraction", 0.0).value_or(0.9);
  if (h.usable_memory_fraction > 1.0) in.fail("usable_memory_fraction", "must be in (0, 1]");
  h.element_bytes = in.number("element_bytes", 0.0).value_or(2.0);
  h.microbatch_overhead_s = 1e-3 * in.non_negative("microbatch_overhead_ms").value_or(0.0);
  h.communicator_create_s = 1e-3 * in.non_negative("communicator_create_ms").value_or(0.0);
  h.communicator_memory_bytes = 1048576.0 * in.non_negative("communicator_memory_mib").value_or(0.0);
  h.attention_kernel = read_attention_kernel(in, origins);
  in.finish();
  return h;
}

}  // namespace flexcp
