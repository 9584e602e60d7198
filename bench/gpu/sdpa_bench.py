#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention (flash backend) on the documents flexcp's device
benchmark uses (bench/bench_device_attention.cpp): H_q = 32, H_kv = 8, d = 128, bf16, packed
documents T/2, T/4, T/8, T/16, T/16 of T = 8K, 32K and 128K tokens, causal inside each document.

PyTorch has no packed document mask for the flash backend, so each document is its own causal
SDPA call (what varlen flash attention computes), KV heads repeated to H_q outside the timing.
Times forward and backward with CUDA events; TFLOPS from the exact causal area, the formula
flexcp uses (forward 4 A d H_q, backward 10 A d H_q, A = sum L (L + 1) / 2).

Usage: python3 bench/gpu/sdpa_bench.py [--repeats N]   (prints a table and one line per case:
  sdpa-summary tokens=T pass=forward|backward ms=... tflops=...)
"""
import argparse

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

HQ, HKV, D = 32, 8, 128


def documents(tokens):
    first = [tokens // 2, tokens // 4, tokens // 8, tokens // 16]
    return first + [tokens - sum(first)]


def area(lengths):
    return sum(l * (l + 1) / 2 for l in lengths)


def timed(fn, repeats):
    fn()  # warm up (and autotune)
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]  # median, ms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"# PyTorch {torch.__version__}, {torch.cuda.get_device_name()}, SDPA flash backend, bf16")
    print(f"# {'tokens':>7} {'pass':>8} {'ms':>9} {'TFLOPS':>8}")
    for tokens in (8192, 32768, 131072):
        lengths = documents(tokens)
        qs, ks, vs = [], [], []
        for length in lengths:
            q = torch.randn(1, HQ, length, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            k = torch.randn(1, HKV, length, D, device="cuda", dtype=torch.bfloat16)
            v = torch.randn(1, HKV, length, D, device="cuda", dtype=torch.bfloat16)
            # GQA: repeat KV heads to H_q outside the timed region (flash needs equal heads).
            ks.append(k.repeat_interleave(HQ // HKV, dim=1).detach().requires_grad_(True))
            vs.append(v.repeat_interleave(HQ // HKV, dim=1).detach().requires_grad_(True))
            qs.append(q)
        a = area(lengths)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            def forward():
                return [torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                        for q, k, v in zip(qs, ks, vs)]
            fwd_ms = timed(lambda: forward(), args.repeats)
            outs = forward()
            grads = [torch.randn_like(o) for o in outs]

            def backward():
                outputs = forward()
                torch.autograd.backward(outputs, grads)
            both_ms = timed(backward, args.repeats)
        bwd_ms = both_ms - fwd_ms
        for name, ms, flops in (("forward", fwd_ms, 4 * a * D * HQ), ("backward", bwd_ms, 10 * a * D * HQ)):
            print(f"  {tokens:7d} {name:>8} {ms:9.3f} {flops / ms * 1e-9:8.1f}")
            print(f"sdpa-summary tokens={tokens} pass={name} ms={ms:.4f} tflops={flops / ms * 1e-9:.2f}")


if __name__ == "__main__":
    main()
