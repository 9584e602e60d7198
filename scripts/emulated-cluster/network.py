#!/usr/bin/python3
"""The arithmetic of an emulated cluster (scripts/emulated-cluster.sh): the time dilation, the
shaped links, and the file that tells `flexcp run` about them (`cluster.emulation`).

Usage: network.py PROFILE MACHINE RATE_GFLOPS QUOTA NODES RANKS_PER_NODE NAME OUT_TOML CALIBRATION

Time dilation: this machine computes attention D times slower per rank than the emulated
profile (D = profile attention rate / measured rate per rank), so every network figure is slowed
by the same D: link rate / D, latency x D. The executor moves fp32 where the profile's GPUs move
bf16 (its element_bytes), so link rates are also multiplied by 4 / element_bytes: a transfer then
takes exactly D times as long as the same transfer of the profile's elements would there.
Intra-node traffic goes through Open MPI's shared memory, which is not shaped: the generated
profile gives it this machine's shared-memory figures (MACHINE), not the profile's NVLink / D.

Prints shell assignments (link_bits_per_s, link_delay_ms, dilation) for the script.
"""
import sys
import tomllib

EXECUTOR_ELEMENT_BYTES = 4.0  # the host kernels and MPI data path move fp32
# Creating group communicators here is one MPI_Comm_split over the world (comm::CommunicatorCache):
# Open MPI's split and context-id agreement cost a fixed number of message latencies, measured on
# this emulated cluster as 6.0-8.0 one-way delays per creation round (demo run of 2026-11-27 at
# 2,160 ms delay: 13.0-17.4 s per rank, bench/RESULTS.md). The profile's own figure (NCCL's
# ncclCommSplit on the real machine) does not apply: it would be dilated to hours.
COMM_SPLIT_DELAYS = 8.0


def main(profile_path, machine_path, rate_gflops, quota, nodes, ranks_per_node, name, out_path, calibration):
    with open(profile_path, "rb") as f:
        profile = tomllib.load(f)["hardware"]
    with open(machine_path, "rb") as f:
        machine = tomllib.load(f)["hardware"]
    rate_tflops = float(rate_gflops) / 1e3
    dilation = profile["attention_tflops"] / rate_tflops
    byte_scale = EXECUTOR_ELEMENT_BYTES / profile.get("element_bytes", 2.0)
    link_gbps = profile["inter_node_gbps"] / dilation * byte_scale
    delay_us = profile.get("inter_node_latency_us", 0.0) * dilation
    a2a = [[size, gbps / dilation * byte_scale] for size, gbps in profile.get("a2a_inter_node_gbps", [])]
    nodes, ranks_per_node = int(nodes), int(ranks_per_node)
    namespaces = [f"fcp-{name}-head"] + [f"fcp-{name}-n{n}" for n in range(nodes)]
    hardware = {
        "name": f"{profile['name']} dilated x{dilation:.0f} on this machine",
        "matmul_tflops": profile["matmul_tflops"] / dilation,
        "attention_tflops": rate_tflops,
        "intra_node_gbps": machine["intra_node_gbps"],
        "intra_node_latency_us": machine.get("intra_node_latency_us", 0.0),
        "inter_node_gbps": link_gbps,
        "inter_node_latency_us": delay_us,
        "a2a_intra_node_gbps": machine["a2a_intra_node_gbps"],
        "a2a_inter_node_gbps": a2a,
        "memory_gib": machine["memory_gib"],
        "usable_memory_fraction": machine.get("usable_memory_fraction", 0.9),
        "element_bytes": EXECUTOR_ELEMENT_BYTES,
        "microbatch_overhead_ms": profile.get("microbatch_overhead_ms", 0.0) * dilation,
        "communicator_create_ms": COMM_SPLIT_DELAYS * delay_us / 1e3,
        "communicator_memory_mib": machine.get("communicator_memory_mib", 0.0),
    }
    if not a2a:
        del hardware["a2a_inter_node_gbps"]
    kernel_table = machine_kernel_table(machine, rate_tflops)
    emulation = {
        "profile": profile["name"],
        "profile_file": profile_path,
        "dilation": dilation,
        "nodes": nodes,
        "ranks_per_node": ranks_per_node,
        "namespaces": namespaces,
        "link_gbps": link_gbps,
        "link_delay_ms": delay_us / 1e3,
        "links": f"one veth per rank into {namespaces[0]}, which routes between ranks: tc tbf {link_gbps * 1e3:.3f} MB/s "
                 f"each way per rank, one-way delay {delay_us / 1e3:.1f} ms (delay line); intra-node: Open MPI shared "
                 f"memory, not shaped",
        "byte_scale": byte_scale,
        "cpu_quota": float(quota),
        "rank_gflops": float(rate_gflops),
        "calibration": calibration,
    }
    with open(out_path, "w") as f:
        f.write(f"# Emulated cluster '{name}': {nodes} node(s) x {ranks_per_node} rank(s), {profile['name']} dilated "
                f"x{dilation:.0f}.\n# Written by scripts/emulated-cluster.sh; read by flexcp run through "
                f"cluster.emulation (docs/inputs.md).\n")
        tables = [("hardware", hardware)] + ([("hardware.attention_kernel", kernel_table)] if kernel_table else [])
        for table, values in tables + [("emulation", emulation)]:
            f.write(f"\n[{table}]\n")
            for key, value in values.items():
                f.write(f"{key} = {toml_value(value)}\n")
    print(f"dilation={dilation:.6g}")
    print(f"link_bits_per_s={link_gbps * 8e9:.0f}")
    print(f"link_delay_us={delay_us:.0f}")


def machine_kernel_table(machine, rate_tflops):
    """MACHINE's measured host-kernel rates by slice shape, scaled to the calibrated rank: the
    ranks run the same kernels under a CPU quota, so every rate is multiplied by the calibrated
    rate over the table's rate for long causal slices (the calibration batch is mostly long
    documents). None when MACHINE has no table (the flat rate then applies)."""
    table = machine.get("attention_kernel")
    if not table:
        return None
    scale = rate_tflops / max(table["forward_causal_tflops"])
    scaled = {"source": f"{table['source']}; scaled x{scale:.3f} to the calibrated rank rate", "use": "flexcp",
              "lengths": table["lengths"]}
    for series in ("forward_causal", "forward_full", "backward_causal", "backward_full"):
        scaled[f"{series}_tflops"] = [r * scale for r in table[f"{series}_tflops"]]
    return scaled


def toml_value(value):
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


if __name__ == "__main__":
    if len(sys.argv) != 10:
        sys.exit(__doc__)
    main(*sys.argv[1:])
