// CUDA attention kernels (forward, backward) in TFLOP/s from the exact mask area, on the shapes
// of the GPU issue: H_q = 32, H_kv = 8, d = 128, bf16 inputs, packed documents of 8K to 128K
// tokens in total. Documents: T/2, T/4, T/8, T/16, T/16 (the same rule as bench/gpu/sdpa_bench.py,
// which times PyTorch's scaled_dot_product_attention on the same documents).
//   build/release/bench/flexcp_bench_device --benchmark_counters_tabular=true
// Without a CUDA device every case reports an error and nothing is timed.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <Kokkos_Core.hpp>
#include <vector>

#include "attn/cuda/device_attention.hpp"
#include "device/inventory.hpp"
#include "attn/flops.hpp"
#include "attn/synthetic_inputs.hpp"
#include "sched/shard.hpp"

using namespace flexcp;
namespace cuda = flexcp::attn::cuda;

namespace {
sched::Batch packed_documents(std::int64_t tokens) {
  return sched::Batch{{tokens / 2, tokens / 4, tokens / 8, tokens / 16, tokens - tokens / 2 - tokens / 4 - tokens / 8 - tokens / 16}};
}

struct DeviceProblem {
  attn::HeadLayout layout{32, 8, 128};
  sched::RankShard shard;
  attn::SliceSet slices;
  std::unique_ptr<cuda::DeviceSliceSet> device_slices;
  device::DeviceBuffer q, k, v, dout, out, lse, rowsum, dq, dk, dv, staging;
  std::int64_t tokens = 0;

  explicit DeviceProblem(std::int64_t t) : tokens(t) {
    const auto batch = packed_documents(t);
    shard = sched::zigzag_shards(batch, 1)[0];
    slices = attn::build_slices(shard, shard);
    device_slices = std::make_unique<cuda::DeviceSliceSet>(slices);
    const auto offsets = batch.doc_offsets();
    const std::size_t qn = static_cast<std::size_t>(t) * layout.q_heads * layout.head_dim;
    const std::size_t kn = static_cast<std::size_t>(t) * layout.kv_heads * layout.head_dim;
    staging = device::DeviceBuffer("staging", 4 * qn);
    auto fill = [&](device::DeviceBuffer& target, std::size_t n, int heads, attn::SyntheticTensor which) {
      std::vector<float> host(n);
      attn::fill_synthetic({host.data(), t, heads, layout.head_dim}, shard, offsets, 7, which);
      staging.upload(host.data(), n * sizeof(float));
      target = device::DeviceBuffer("input", 2 * n);
      cuda::to_bf16(static_cast<const float*>(staging.data()), target.data(), static_cast<std::int64_t>(n));
    };
    fill(q, qn, layout.q_heads, attn::SyntheticTensor::query);
    fill(k, kn, layout.kv_heads, attn::SyntheticTensor::key);
    fill(v, kn, layout.kv_heads, attn::SyntheticTensor::value);
    fill(dout, qn, layout.q_heads, attn::SyntheticTensor::output_grad);
    out = device::DeviceBuffer("out", 4 * qn);
    lse = device::DeviceBuffer("lse", 4 * static_cast<std::size_t>(t) * layout.q_heads);
    rowsum = device::DeviceBuffer("rowsum", 4 * static_cast<std::size_t>(t) * layout.q_heads);
    dq = device::DeviceBuffer("dq", 4 * qn);
    dk = device::DeviceBuffer("dk", 4 * kn);
    dv = device::DeviceBuffer("dv", 4 * kn);
  }
  void forward() {
    cuda::forward_partial(layout, *device_slices, cuda::Precision::bf16, {q.data(), tokens}, {k.data(), tokens},
                          {v.data(), tokens}, static_cast<float*>(out.data()), static_cast<float*>(lse.data()));
  }
  void backward() {
    cuda::backward_accumulate(layout, *device_slices, cuda::Precision::bf16, {q.data(), tokens}, {k.data(), tokens},
                              {v.data(), tokens}, {dout.data(), tokens}, static_cast<const float*>(lse.data()),
                              static_cast<const float*>(rowsum.data()), static_cast<float*>(dq.data()),
                              static_cast<float*>(dk.data()), static_cast<float*>(dv.data()));
  }
};

bool have_device(benchmark::State& state) {
  const auto inventory = device::cuda_inventory();
  if (!inventory.devices.empty()) return true;
  state.SkipWithError(("no CUDA device: " + inventory.why_none).c_str());
  return false;
}

// CUDA events time the kernels alone (manual time), as PyTorch's side does.
template <class Work>
void time_on_device(benchmark::State& state, Work&& work, double flops) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (auto _ : state) {
    cudaEventRecord(start);
    work();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  state.counters["TFLOPS"] = benchmark::Counter(flops * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_DeviceForward(benchmark::State& state) {
  if (!have_device(state)) return;
  DeviceProblem p(state.range(0));
  p.forward();  // warm up
  time_on_device(state, [&] { p.forward(); }, attn::forward_flops(p.slices.area(), p.layout));
}

void BM_DeviceBackward(benchmark::State& state) {
  if (!have_device(state)) return;
  DeviceProblem p(state.range(0));
  p.forward();
  cuda::softmax_backward_rowsum(p.layout, p.tokens, static_cast<const float*>(p.out.data()),
                                static_cast<const float*>(p.out.data()), static_cast<float*>(p.rowsum.data()));
  time_on_device(state, [&] { p.backward(); }, attn::backward_flops(p.slices.area(), p.layout));
}
}  // namespace

BENCHMARK(BM_DeviceForward)->Arg(8192)->Arg(32768)->Arg(131072)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DeviceBackward)->Arg(8192)->Arg(32768)->Arg(131072)->UseManualTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
