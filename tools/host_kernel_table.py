#!/usr/bin/python3
"""The [hardware.attention_kernel] table of a CPU profile from the host kernels' slice benchmark.

    build/release/bench/flexcp_bench --benchmark_filter=BM_Slice --benchmark_min_time=0.3 \\
        --benchmark_out=slice.json --benchmark_out_format=json
    tools/host_kernel_table.py slice.json "SOURCE TEXT" >> inputs/hardware/cpu-dev.toml

Repetitions (--benchmark_repetitions) give the median. Rates are per CPU second (Google Benchmark divides rate counters by CPU time), so a loaded
machine changes them little. Prints the TOML table; the cost model reads TFLOP/s.
"""
import json
import statistics
import sys


def main(path, source):
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    rates = {}
    for run in runs:
        if run.get("run_type") == "aggregate" or not run["name"].startswith("BM_Slice/"):
            continue
        args = dict(part.split(":") for part in run["name"].split("/")[1:])
        key = ("backward" if args["backward"] == "1" else "forward", "causal" if args["causal"] == "1" else "full")
        rates.setdefault(key, {}).setdefault(int(args["length"]), []).append(run["GFLOP/s"] / 1e3)
    lengths = sorted(rates[("forward", "causal")])
    print("[hardware.attention_kernel]")
    print(f'source = "{source}"')
    print('use = "flexcp"')
    print(f"lengths = [{', '.join(str(n) for n in lengths)}]")
    for direction in ("forward", "backward"):
        for mask in ("causal", "full"):
            values = ", ".join(f"{statistics.median(rates[(direction, mask)][n]):.5f}" for n in lengths)
            print(f"{direction}_{mask}_tflops = [{values}]")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
