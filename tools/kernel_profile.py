#!/usr/bin/env python3
"""Tables from a GPU kernel run: flexcp's device kernels beside PyTorch SDPA, and the kernels'
throughput by slice shape as the [hardware.attention_kernel] table of a hardware profile.

  tools/kernel_profile.py DEVICE_JSON [--sdpa SDPA_TXT] [--toml OUT.toml] [--machine TEXT] [--date YYYY-MM-DD]

DEVICE_JSON: `flexcp_bench_device --benchmark_out=... --benchmark_out_format=json`.
SDPA_TXT: the output of bench/gpu/sdpa_bench.py (its `sdpa-summary` lines).
Prints Markdown: (1) packed documents, every variant and SDPA's faster backend, with the ratio
(target: forward >= 0.8x, backward >= 0.6x); (2) TFLOP/s by slice shape (best variant per shape).
Variants are flexcp_bench_device's names: the tensor-core tile configurations (tc_*, auto_*),
simt, and cudnn (cuDNN's fused attention, CudaKernels' bf16 engine where it covers the shape);
the best one per shape is what flexcp runs there, so the profile takes it whichever it is.
With --toml, writes the slice table in the hardware-profile format (docs/inputs.md).
Exit 2 when a file is missing or holds no benchmark this script knows.
"""
import argparse
import json
import re
import sys
from collections import defaultdict

PACKED = re.compile(r"^packed_(forward|backward)/tokens:(\d+)/(\w+)")
SLICE = re.compile(r"^slice_(forward|backward)/(causal|full)/q:(\d+)/k:(\d+)/(\w+)")
SDPA = re.compile(r"^sdpa-summary backend=(\w+) tokens=(\d+) pass=(\w+) ms=([\d.]+) tflops=([\d.]+)")
SDPA_SHAPE = re.compile(r"^sdpa-shape backend=(\w+) mask=(\w+) length=(\d+) pass=(\w+) tflops=([\d.]+)")


def fail(message):
    print(f"kernel_profile: {message}", file=sys.stderr)
    sys.exit(2)


def load_device(path):
    try:
        with open(path) as f:
            runs = json.load(f).get("benchmarks", [])
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}")
    packed, slices, errors = {}, defaultdict(dict), []
    for run in runs:
        name = run.get("run_name", run.get("name", ""))
        if run.get("error_occurred"):
            errors.append(f"{name}: {run.get('error_message', '')}")
            continue
        if run.get("aggregate_name"):
            continue
        tflops = run.get("TFLOPS")
        if (m := PACKED.match(name)) and tflops is not None:
            packed[(m[1], int(m[2]), m[3])] = (tflops, run["real_time"])
        elif (m := SLICE.match(name)) and tflops is not None:
            slices[(m[1], m[2], int(m[3]), int(m[4]))][m[5]] = tflops
    if not packed and not slices:
        fail(f"{path} holds no packed_* or slice_* benchmark" + (f" ({len(errors)} errors, first: {errors[0]})" if errors else ""))
    return packed, slices, errors


def load_sdpa(path):
    """SDPA's faster backend per (pass, tokens) and per (pass, mask, length): (backend, TFLOP/s)."""
    best, shapes = {}, {}
    def keep(table, key, backend, tflops):
        if key not in table or tflops > table[key][1]:
            table[key] = (backend, tflops)
    try:
        with open(path) as f:
            for line in f:
                if m := SDPA.match(line.strip()):
                    keep(best, (m[3], int(m[2])), m[1], float(m[5]))
                elif m := SDPA_SHAPE.match(line.strip()):
                    keep(shapes, (m[4], m[2], int(m[3])), m[1], float(m[5]))
    except OSError as error:
        fail(f"cannot read {path}: {error}")
    return best, shapes


def packed_table(packed, sdpa):
    variants = sorted({v for (_, _, v) in packed})
    print("| pass | tokens | " + " | ".join(f"{v} TFLOP/s" for v in variants) + " | SDPA best (backend) | best flexcp / SDPA |")
    print("|---|---:|" + "---:|" * len(variants) + "---|---:|")
    for kind in ("forward", "backward"):
        for tokens in sorted({t for (p, t, _) in packed if p == kind}):
            cells = [packed.get((kind, tokens, v)) for v in variants]
            ours = max((c[0] for c in cells if c), default=None)
            ref = sdpa.get((kind, tokens))
            ref_text = f"{ref[1]:.1f} ({ref[0]})" if ref else "n/a"
            ratio = f"{ours / ref[1]:.2f}x" if ref and ours else "n/a"
            print(f"| {kind} | {tokens} | " + " | ".join(f"{c[0]:.1f}" if c else "-" for c in cells) +
                  f" | {ref_text} | {ratio} |")


def slice_table(slices, sdpa_shapes):
    print("| pass | mask | query rows | keys | best TFLOP/s | variant | all variants | SDPA best, q = k (backend) |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for key in sorted(slices, key=lambda k: (k[0], k[1], k[2], k[3])):
        by_variant = slices[key]
        variant, tflops = max(by_variant.items(), key=lambda item: item[1])
        others = ", ".join(f"{v} {t:.0f}" for v, t in sorted(by_variant.items()))
        ref = sdpa_shapes.get((key[0], key[1], key[2])) if key[2] == key[3] else None
        ref_text = f"{ref[1]:.1f} ({ref[0]})" if ref else ""
        print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {tflops:.1f} | {variant} | {others} | {ref_text} |")


def toml_table(slices, sdpa_shapes, machine, date):
    def best(kind, mask, q, k):
        by_variant = slices.get((kind, mask, q, k))
        return max(by_variant.values()) if by_variant else None
    lengths = sorted({q for (_, mask, q, k) in slices if mask == "causal" and q == k})
    lines = [
        "# Attention kernel throughput by slice shape, measured with flexcp's bf16 attention engines",
        f"# (cuDNN fused attention and tensor-core kernels, bf16, H_q 32, H_kv 8, d 128;",
        f"# bench/bench_device_attention.cpp slice_*; best variant",
        f"# per shape) on {machine}, {date}. A slice of L queries x L keys, causal or fully visible,",
        "# repeated until a launch holds ~2^28 visible pairs: throughput with the GPU full of such",
        "# slices. tools/kernel_profile.py wrote this table.",
        "[hardware.attention_kernel]",
        f'source = "measured: flexcp attention engines (best of cuDNN and tensor-core kernels) on {machine}, {date} (bench/RESULTS.md)"',
        "lengths = [" + ", ".join(str(n) for n in lengths) + "]",
    ]
    for kind in ("forward", "backward"):
        for mask in ("causal", "full"):
            values = [best(kind, mask, n, n) for n in lengths]
            if any(v is None for v in values):
                fail(f"no {kind} {mask} measurement for every length {lengths}")
            lines.append(f"{kind}_{mask}_tflops = [" + ", ".join(f"{v:.1f}" for v in values) + "]")
    if sdpa_shapes:
        lines.append("# The same shapes through PyTorch SDPA's faster backend (cuDNN or flash; batched, KV heads")
        lines.append("# repeated): the best kernel available on this machine, for modelling every strategy alike.")
        for kind in ("forward", "backward"):
            for mask in ("causal", "full"):
                values = [sdpa_shapes.get((kind, mask, n)) for n in lengths]
                if all(values):
                    lines.append(f"reference_{kind}_{mask}_tflops = [" + ", ".join(f"{v[1]:.1f}" for v in values) + "]")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("device_json")
    parser.add_argument("--sdpa")
    parser.add_argument("--toml")
    parser.add_argument("--machine", default="an NVIDIA GPU")
    parser.add_argument("--date", default="unknown date")
    args = parser.parse_args()
    packed, slices, errors = load_device(args.device_json)
    sdpa, sdpa_shapes = load_sdpa(args.sdpa) if args.sdpa else ({}, {})
    for error in errors:
        print(f"kernel_profile: benchmark error: {error}", file=sys.stderr)
    if packed:
        print("## Packed documents (T/2, T/4, T/8, T/16, T/16), H_q 32, H_kv 8, d 128, bf16\n")
        packed_table(packed, sdpa)
        print()
    if slices:
        print("## Throughput by slice shape\n")
        slice_table(slices, sdpa_shapes)
        print()
        if args.toml:
            with open(args.toml, "w") as f:
                f.write(toml_table(slices, sdpa_shapes, args.machine, args.date))
            print(f"wrote {args.toml}")


if __name__ == "__main__":
    main()
