// CUDA attention kernels in TFLOP/s from the exact mask area (forward 4 d H_q, backward 10 d H_q
// per visible pair), H_q = 32, H_kv = 8, d = 128, bf16 inputs, CUDA events around the kernels
// alone (manual time), as bench/gpu/sdpa_bench.py times PyTorch's SDPA.
//   packed_*: packed documents T/2, T/4, T/8, T/16, T/16 of T = 8K-64K tokens (the documents
//             sdpa_bench.py uses), every kernel variant and cuDNN's fused attention (variant
//             `cudnn`, CudaKernels' bf16 engine: cudnn_attention.hpp, scratch merges included);
//             SIMT only at 8K (it is the slow check).
//   slice_*:  one slice shape (query rows x keys, causal or fully visible) repeated until the
//             launch holds about 2^28 visible pairs or 256K tokens, for the efficiency-by-shape
//             table of the cost model (tools/kernel_profile.py turns the JSON into it).
//   build/release/bench/flexcp_bench_device --benchmark_out=device.json --benchmark_out_format=json
// Without a CUDA device every case reports an error and nothing is timed.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attn/cuda/cudnn_attention.hpp"
#include "attn/cuda/device_attention.hpp"
#include "attn/flops.hpp"
#include "device/buffer.hpp"
#include "device/check.hpp"
#include "device/inventory.hpp"
#include "device/stream.hpp"
#include "device_fill.hpp"
#include "sched/shard.hpp"

using namespace flexcp;
namespace cuda = flexcp::attn::cuda;
using device::DeviceBuffer;

namespace {
constexpr std::int64_t kMaxTokens = 256 * 1024;
constexpr double kTargetPairs = 268435456.0;  // 2^28 visible pairs per slice-shape launch
const attn::HeadLayout kLayout{32, 8, 128};

// Device buffers for the largest problem, allocated once and shared by every case.
struct Workspace {
  DeviceBuffer q, k, v, dout, out, lse, rowsum, dq, dk, dv;
  Workspace() {
    const auto qn = static_cast<std::size_t>(kMaxTokens) * kLayout.q_heads * kLayout.head_dim;
    const auto kn = static_cast<std::size_t>(kMaxTokens) * kLayout.kv_heads * kLayout.head_dim;
    const auto rows = static_cast<std::size_t>(kMaxTokens) * kLayout.q_heads;
    q = DeviceBuffer("bench::q", 2 * qn);
    dout = DeviceBuffer("bench::dout", 2 * qn);
    k = DeviceBuffer("bench::k", 2 * kn);
    v = DeviceBuffer("bench::v", 2 * kn);
    bench::fill_uniform_bf16(q.data(), static_cast<std::int64_t>(qn), 1);
    bench::fill_uniform_bf16(dout.data(), static_cast<std::int64_t>(qn), 2);
    bench::fill_uniform_bf16(k.data(), static_cast<std::int64_t>(kn), 3);
    bench::fill_uniform_bf16(v.data(), static_cast<std::int64_t>(kn), 4);
    out = DeviceBuffer("bench::out", 4 * qn);
    dq = DeviceBuffer("bench::dq", 4 * qn);
    dk = DeviceBuffer("bench::dk", 4 * kn);
    dv = DeviceBuffer("bench::dv", 4 * kn);
    lse = DeviceBuffer("bench::lse", 4 * rows);
    rowsum = DeviceBuffer("bench::rowsum", 4 * rows);
    dq.zero();
    dk.zero();
    dv.zero();
  }
};

Workspace& workspace() {
  static Workspace w;
  return w;
}

struct Problem {
  attn::SliceSet slices;
  std::int64_t q_tokens = 0, kv_tokens = 0;
};

std::shared_ptr<Problem> packed_documents(std::int64_t tokens) {
  const sched::Batch batch{{tokens / 2, tokens / 4, tokens / 8, tokens / 16,
                            tokens - tokens / 2 - tokens / 4 - tokens / 8 - tokens / 16}};
  const auto shard = sched::zigzag_shards(batch, 1)[0];
  return std::make_shared<Problem>(Problem{attn::build_slices(shard, shard), tokens, tokens});
}

// `copies` of one slice shape, each its own query and key segment. Causal: q_len == k_len,
// query i sees keys [0, i]. Full: every query sees all k_len keys.
std::shared_ptr<Problem> repeated_slice(std::int64_t q_len, std::int64_t k_len, bool causal) {
  const attn::AttentionSlice one{0, q_len, 0, k_len, causal ? 0 : k_len - 1};
  const auto copies = std::clamp<std::int64_t>(static_cast<std::int64_t>(kTargetPairs / one.area()), 1,
                                               kMaxTokens / std::max(q_len, k_len));
  auto p = std::make_shared<Problem>();
  for (std::int64_t c = 0; c < copies; ++c) {
    auto s = one;
    s.q_begin = c * q_len;
    s.k_begin = c * k_len;
    const auto index = static_cast<std::int32_t>(p->slices.slices.size());
    p->slices.slices.push_back(s);
    p->slices.by_query.push_back({s.q_begin, q_len, {index}});
    p->slices.by_key.push_back({s.k_begin, k_len, {index}});
  }
  p->q_tokens = copies * q_len;
  p->kv_tokens = copies * k_len;
  return p;
}

void forward(Workspace& w, const Problem& p, const cuda::DeviceSliceSet& slices, const cuda::KernelConfig& config,
             cudaStream_t stream) {
  cuda::forward_partial(kLayout, slices, cuda::Precision::bf16, {w.q.data(), p.q_tokens}, {w.k.data(), p.kv_tokens},
                        {w.v.data(), p.kv_tokens}, static_cast<float*>(w.out.data()), static_cast<float*>(w.lse.data()),
                        stream, config);
}

void backward(Workspace& w, const Problem& p, const cuda::DeviceSliceSet& slices, const cuda::KernelConfig& config,
              cudaStream_t stream) {
  cuda::backward_accumulate(kLayout, slices, cuda::Precision::bf16, {w.q.data(), p.q_tokens}, {w.k.data(), p.kv_tokens},
                            {w.v.data(), p.kv_tokens}, {w.dout.data(), p.q_tokens}, static_cast<const float*>(w.lse.data()),
                            static_cast<const float*>(w.rowsum.data()), static_cast<float*>(w.dq.data()),
                            static_cast<float*>(w.dk.data()), static_cast<float*>(w.dv.data()), stream, config);
}

// cuDNN's fused attention: one handle and plan cache for every case (a plan build takes 0.1-1 s
// and equal shapes share one), on a stream of its own.
struct CudnnBench {
  device::Stream stream{"bench::cudnn"};
  cuda::CudnnAttention attention{stream.get()};
};
CudnnBench& cudnn_bench() {
  static CudnnBench c;
  return c;
}

// The engine of a case: flexcp's kernels with a config, or cuDNN (nullopt).
using Engine = std::optional<cuda::KernelConfig>;

// One case: forward or backward of `problem` on `engine`, timed by events on the engine's stream.
void run_case(benchmark::State& state, const std::shared_ptr<Problem>& problem, const Engine& engine, bool is_backward) {
  const auto inventory = device::cuda_inventory();
  if (inventory.devices.empty()) {
    state.SkipWithError(("no CUDA device: " + inventory.why_none).c_str());
    return;
  }
  auto& w = workspace();
  const auto& p = *problem;
  auto* out = static_cast<float*>(w.out.data());
  auto* lse = static_cast<float*>(w.lse.data());
  std::optional<device::Stream> own;
  std::optional<cuda::DeviceSliceSet> slices;
  std::optional<cuda::CudnnSlices> cudnn_slices;
  cudaStream_t stream = nullptr;
  std::function<void()> run_forward, run_backward;
  if (engine) {
    own.emplace("bench::stream");
    stream = own->get();
    slices.emplace(p.slices);
    run_forward = [&] { forward(w, p, *slices, *engine, stream); };
    run_backward = [&] { backward(w, p, *slices, *engine, stream); };
  } else {
    auto& c = cudnn_bench();
    stream = c.stream.get();
    cudnn_slices.emplace(p.slices);
    run_forward = [&] { c.attention.forward(kLayout, *cudnn_slices, w.q.data(), w.k.data(), w.v.data(), p.q_tokens, p.kv_tokens, out, lse); };
    run_backward = [&] {
      c.attention.backward(kLayout, *cudnn_slices, w.q.data(), w.k.data(), w.v.data(), out, w.dout.data(), lse, p.q_tokens,
                           p.kv_tokens, static_cast<float*>(w.dq.data()), static_cast<float*>(w.dk.data()),
                           static_cast<float*>(w.dv.data()));
    };
  }
  const device::Event start, stop;
  run_forward();  // warm-up (and plans); lse for the backward
  if (is_backward) {
    // D from O and O itself (as dO) is as good as any D for timing: ordinary finite numbers.
    cuda::softmax_backward_rowsum(kLayout, p.q_tokens, out, out, static_cast<float*>(w.rowsum.data()), stream);
    run_backward();
  }
  FLEXCP_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (auto _ : state) {
    start.record(stream);
    if (is_backward)
      run_backward();
    else
      run_forward();
    stop.record(stream);
    stop.synchronize();
    state.SetIterationTime(stop.elapsed_ms_since(start) * 1e-3);
  }
  const double area = p.slices.area();
  const double flops = is_backward ? attn::backward_flops(area, kLayout) : attn::forward_flops(area, kLayout);
  state.counters["TFLOPS"] = benchmark::Counter(flops * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pairs"] = area;
  state.counters["slices"] = static_cast<double>(p.slices.slices.size());
}

std::string variant_name(const Engine& engine) {
  if (!engine) return "cudnn";
  const auto& c = *engine;
  if (c.path == cuda::KernelPath::simt) return "simt";
  if (c.forward_query_tile == 0) return "auto_b" + std::to_string(c.backward_query_block);
  return "tc_f" + std::to_string(c.forward_query_tile) + "w" + std::to_string(c.forward_rows_per_warp) + "_b" +
         std::to_string(c.backward_query_block);
}

void add(const std::string& name, const std::shared_ptr<Problem>& problem, const Engine& engine, bool is_backward,
         int iterations) {
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { run_case(state, problem, engine, is_backward); })
      ->UseManualTime()
      ->Iterations(iterations)
      ->Unit(benchmark::kMillisecond);
}

void register_cases() {
  // Forward variants differ in query tile and rows per warp, backward ones in the query block;
  // each list names whole configurations so a result says exactly what ran.
  // cuDNN (nullopt) last: tools/kernel_profile.py takes the best variant per shape.
  const Engine forward_variants[] = {cuda::KernelConfig{cuda::KernelPath::tensor_core, 128, 64, 16},
                                     cuda::KernelConfig{cuda::KernelPath::tensor_core, 64, 64, 16},
                                     cuda::KernelConfig{cuda::KernelPath::tensor_core, 128, 64, 32},
                                     cuda::KernelConfig{cuda::KernelPath::tensor_core, 0, 32, 0}, std::nullopt};
  const Engine backward_variants[] = {cuda::KernelConfig{cuda::KernelPath::tensor_core, 128, 32, 32},
                                      cuda::KernelConfig{cuda::KernelPath::tensor_core, 128, 64, 32}, std::nullopt};
  for (const std::int64_t tokens : {8192, 16384, 32768, 65536}) {
    const auto problem = packed_documents(tokens);
    const auto suffix = "/tokens:" + std::to_string(tokens) + "/";
    for (const auto& c : forward_variants) add("packed_forward" + suffix + variant_name(c), problem, c, false, 10);
    for (const auto& c : backward_variants) add("packed_backward" + suffix + variant_name(c), problem, c, true, 10);
    if (tokens == 8192) {
      const Engine simt = cuda::KernelConfig{cuda::KernelPath::simt, 128, 64};
      add("packed_forward" + suffix + "simt", problem, simt, false, 2);
      add("packed_backward" + suffix + "simt", problem, simt, true, 2);
    }
  }
  // Efficiency by slice shape: square causal and full slices, and full blocks of other aspect
  // ratios (the partial blocks of ring and needed-KV schemes).
  std::vector<std::tuple<std::int64_t, std::int64_t, bool>> shapes;
  for (std::int64_t n = 16; n <= 16384; n *= 2) {
    shapes.emplace_back(n, n, true);
    shapes.emplace_back(n, n, false);
  }
  for (const std::int64_t q : {64, 512, 4096})
    for (const std::int64_t k : {16, 64, 256, 1024, 4096, 16384})
      if (q != k) shapes.emplace_back(q, k, false);
  for (const auto& [q, k, causal] : shapes) {
    const auto problem = repeated_slice(q, k, causal);
    const auto suffix = std::string(causal ? "/causal" : "/full") + "/q:" + std::to_string(q) + "/k:" + std::to_string(k) + "/";
    for (const auto& c : forward_variants) add("slice_forward" + suffix + variant_name(c), problem, c, false, 5);
    for (const auto& c : backward_variants) add("slice_backward" + suffix + variant_name(c), problem, c, true, 5);
  }
}
}  // namespace

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  register_cases();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
