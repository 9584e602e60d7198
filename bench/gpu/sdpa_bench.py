#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention, flash and cuDNN backends, on the documents flexcp's
device benchmark uses (bench/bench_device_attention.cpp, packed_*): H_q = 32, H_kv = 8,
d = 128, bf16, packed documents T/2, T/4, T/8, T/16, T/16 of T = 8K, 16K, 32K and 64K tokens,
causal inside each document.

SDPA has no packed-document mask for these backends, so each document is its own causal call
(what varlen attention computes), KV heads repeated to H_q outside the timing (both backends
then see plain multi-head attention; the repeated heads' gradients are not summed, which favours
SDPA slightly). Forward and forward+backward are timed with CUDA events, medians of --repeats;
backward = (forward+backward) - forward. TFLOPS from the exact causal area, the count flexcp
uses: forward 4 A d H_q, backward 10 A d H_q, A = sum L (L + 1) / 2.

With --shapes, instead, the reference kernels' throughput by shape for the cost model: L queries x
L keys (causal or full), L = 16 ... 16K, batched until a call holds ~2^28 visible pairs, 128K
tokens or 4,096 sequences (the flash backend faulted with 16,384 sequences of 16 tokens, 2 GiB
per tensor, on an H200 with PyTorch 2.11), one line each:
  sdpa-shape backend=... mask=causal|full length=L pass=forward|backward tflops=...
Run one backend per process (--backends): a fault poisons the process's CUDA context.

Usage: python3 bench/gpu/sdpa_bench.py [--repeats N] [--tokens 8192 ...] [--shapes] [--backends cudnn ...]
Prints the bf16 matmul rate (matmul-peak tflops=...), a table and one line per case:
  sdpa-summary backend=flash|cudnn tokens=T pass=forward|backward ms=... tflops=...
"""
import argparse

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

HQ, HKV, D = 32, 8, 128
BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def documents(tokens):
    first = [tokens // 2, tokens // 4, tokens // 8, tokens // 16]
    return first + [tokens - sum(first)]


def area(lengths):
    return sum(n * (n + 1) / 2 for n in lengths)


def timed(fn, repeats):
    fn()  # warm up (and let the backend pick its kernels)
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


def measure(backend, lengths, repeats):
    qs, ks, vs = [], [], []
    for n in lengths:
        qs.append(torch.randn(1, HQ, n, D, device="cuda", dtype=torch.bfloat16, requires_grad=True))
        k = torch.randn(1, HKV, n, D, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(1, HKV, n, D, device="cuda", dtype=torch.bfloat16)
        ks.append(k.repeat_interleave(HQ // HKV, dim=1).detach().requires_grad_(True))
        vs.append(v.repeat_interleave(HQ // HKV, dim=1).detach().requires_grad_(True))
    with sdpa_kernel(BACKENDS[backend]):
        def forward():
            return [torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                    for q, k, v in zip(qs, ks, vs)]
        forward_ms = timed(forward, repeats)
        grads = [torch.randn_like(o) for o in forward()]

        def forward_backward():
            torch.autograd.backward(forward(), grads)
        both_ms = timed(forward_backward, repeats)
    return forward_ms, both_ms - forward_ms


def measure_shape(backend, length, causal, repeats):
    """One shape, batched: (forward, backward) TFLOP/s."""
    pairs = length * (length + 1) / 2 if causal else length * length
    batch = int(max(1, min(2 ** 28 // pairs, 128 * 1024 // length, 4096)))
    q = torch.randn(batch, HQ, length, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(batch, HQ, length, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn(batch, HQ, length, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    with sdpa_kernel(BACKENDS[backend]):
        def forward():
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        forward_ms = timed(forward, repeats)
        grad = torch.randn_like(forward())

        def forward_backward():
            forward().backward(grad)
        backward_ms = timed(forward_backward, repeats) - forward_ms
    area = pairs * batch
    return 4 * area * D * HQ / forward_ms * 1e-9, 10 * area * D * HQ / backward_ms * 1e-9


def shape_sweep(backends, repeats):
    for causal in (True, False):
        mask = "causal" if causal else "full"
        length = 16
        while length <= 16384:
            for backend in backends:
                try:
                    forward, backward = measure_shape(backend, length, causal, repeats)
                except RuntimeError as error:
                    print(f"sdpa-shape backend={backend} mask={mask} length={length} unavailable: {str(error).splitlines()[0]}")
                    continue
                print(f"sdpa-shape backend={backend} mask={mask} length={length} pass=forward tflops={forward:.2f}")
                print(f"sdpa-shape backend={backend} mask={mask} length={length} pass=backward tflops={backward:.2f}")
            torch.cuda.empty_cache()
            length *= 2


def matmul_peak(repeats):
    """The device's dense bf16 rate as PyTorch reaches it (8192^3 products): the ceiling to quote
    attention efficiencies against."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    ms = timed(lambda: a @ b, repeats)
    return 2 * 8192 ** 3 / ms * 1e-9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--tokens", type=int, nargs="+", default=[8192, 16384, 32768, 65536])
    parser.add_argument("--shapes", action="store_true", help="the throughput by shape (sdpa-shape lines) instead")
    parser.add_argument("--backends", nargs="+", choices=list(BACKENDS), default=list(BACKENDS))
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"# PyTorch {torch.__version__}, {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}, bf16")
    if args.shapes:
        shape_sweep(args.backends, max(3, args.repeats // 2))
        return
    peak = matmul_peak(args.repeats)
    print(f"matmul-peak tflops={peak:.1f}")
    print(f"# {'backend':>7} {'tokens':>7} {'pass':>8} {'ms':>9} {'TFLOPS':>8}")
    for tokens in args.tokens:
        lengths = documents(tokens)
        a = area(lengths)
        for backend in args.backends:
            try:
                forward_ms, backward_ms = measure(backend, lengths, args.repeats)
            except RuntimeError as error:  # a backend that refuses the shape says so and is skipped
                print(f"  {backend:>7} {tokens:7d} unavailable: {str(error).splitlines()[0]}")
                continue
            for name, ms, flops in (("forward", forward_ms, 4 * a * D * HQ), ("backward", backward_ms, 10 * a * D * HQ)):
                tflops = flops / ms * 1e-9
                print(f"  {backend:>7} {tokens:7d} {name:>8} {ms:9.3f} {tflops:8.1f}")
                print(f"sdpa-summary backend={backend} tokens={tokens} pass={name} ms={ms:.4f} tflops={tflops:.2f}")


if __name__ == "__main__":
    main()
