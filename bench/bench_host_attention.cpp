// Host attention kernels (forward, backward) in GFLOP/s from the exact mask area, beside this
// machine's single-core fp32 ceiling measured with the same compiler and flags: an FMA
// throughput loop (the peak) and a register-blocked SGEMM (what dense code reaches).
//   build/release/bench/flexcp_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <vector>

#include "attn/flops.hpp"
#include "attn/host_kernels.hpp"
#include "attn/slice.hpp"
#include "attn/synthetic_inputs.hpp"
#include "sched/batch_sampler.hpp"
#include "sched/shard.hpp"

using namespace flexcp;

namespace {

struct Problem {
  attn::HeadLayout layout;
  sched::Batch batch;
  sched::RankShard shard;
  attn::SliceSet slices;
  attn::Tensor3 q, k, v, dout, out, dq, dk, dv;
  attn::Tensor2 lse, rowsum;

  Problem(const attn::HeadLayout& l, sched::Batch b) : layout(l), batch(std::move(b)) {
    shard = sched::zigzag_shards(batch, 1)[0];
    slices = attn::build_slices(shard, shard);
    const auto t = shard.tokens();
    const auto offsets = batch.doc_offsets();
    q = attn::make_tensor("q", t, l.q_heads, l.head_dim);
    dout = attn::make_tensor("dout", t, l.q_heads, l.head_dim);
    k = attn::make_tensor("k", t, l.kv_heads, l.head_dim);
    v = attn::make_tensor("v", t, l.kv_heads, l.head_dim);
    out = attn::make_tensor("out", t, l.q_heads, l.head_dim);
    dq = attn::make_tensor("dq", t, l.q_heads, l.head_dim);
    dk = attn::make_tensor("dk", t, l.kv_heads, l.head_dim);
    dv = attn::make_tensor("dv", t, l.kv_heads, l.head_dim);
    lse = attn::make_row_stats("lse", t, l.q_heads);
    rowsum = attn::make_row_stats("rowsum", t, l.q_heads);
    using attn::SyntheticTensor;
    attn::fill_synthetic(attn::ref(q), shard, offsets, 1, SyntheticTensor::query);
    attn::fill_synthetic(attn::ref(k), shard, offsets, 1, SyntheticTensor::key);
    attn::fill_synthetic(attn::ref(v), shard, offsets, 1, SyntheticTensor::value);
    attn::fill_synthetic(attn::ref(dout), shard, offsets, 1, SyntheticTensor::output_grad);
    attn::forward_partial(layout, slices, attn::ref(q), attn::ref(k), attn::ref(v), attn::ref(out), attn::ref(lse));
    attn::softmax_backward_rowsum(attn::ref(out), attn::ref(dout), attn::ref(rowsum));
  }
};

// Arguments: tokens, head_dim, packed (0: one document; 1: documents drawn from a long-tailed
// distribution, the debian-changelogs quantiles).
Problem make_problem(const benchmark::State& state) {
  const auto tokens = state.range(0);
  const attn::HeadLayout layout{8, 2, static_cast<int>(state.range(1))};
  if (state.range(2) == 0) return Problem(layout, sched::Batch{{tokens}});
  sched::BatchSampler sampler({2, 195, 420, 970, 1800, 3300, 6575, 30417}, tokens, 7);
  return Problem(layout, sampler.batch(0));
}

void set_rate(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9 * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

void BM_AttentionForward(benchmark::State& state) {
  auto p = make_problem(state);
  for (auto _ : state) {
    attn::forward_partial(p.layout, p.slices, attn::ref(p.q), attn::ref(p.k), attn::ref(p.v), attn::ref(p.out),
                          attn::ref(p.lse));
    benchmark::ClobberMemory();
  }
  set_rate(state, attn::forward_flops(p.slices.area(), p.layout));
}

void BM_AttentionBackward(benchmark::State& state) {
  auto p = make_problem(state);
  for (auto _ : state) {
    attn::backward_accumulate(p.layout, p.slices, attn::ref(p.q), attn::ref(p.k), attn::ref(p.v), attn::ref(p.dout),
                              attn::ref(p.lse), attn::ref(p.rowsum), attn::ref(p.dq), attn::ref(p.dk), attn::ref(p.dv));
    benchmark::ClobberMemory();
  }
  set_rate(state, attn::backward_flops(p.slices.area(), p.layout));
}

// One slice shape, L queries x L keys, causal or fully visible, repeated (each copy its own
// query and key rows) until a call holds about 2^21 visible pairs: the host kernels' rate by
// slice shape, what [hardware.attention_kernel] of a CPU profile holds (tools/host_kernel_table.py
// turns this benchmark's JSON into that table). The demo's head layout: H_q 8, H_kv 2, d 32.
// Arguments: length, causal (1) or full (0), backward (1) or forward (0).
void BM_Slice(benchmark::State& state) {
  const std::int64_t length = state.range(0);
  const bool causal = state.range(1) != 0, backward = state.range(2) != 0;
  const attn::HeadLayout layout{8, 2, 32};
  const attn::AttentionSlice one{0, length, 0, length, causal ? 0 : length - 1};
  constexpr double kTargetPairs = 1 << 21;
  const auto copies = std::max<std::int64_t>(1, static_cast<std::int64_t>(kTargetPairs / one.area()));
  attn::SliceSet slices;
  for (std::int64_t c = 0; c < copies; ++c) {
    auto s = one;
    s.q_begin = s.k_begin = c * length;
    const auto index = static_cast<std::int32_t>(slices.slices.size());
    slices.slices.push_back(s);
    slices.by_query.push_back({s.q_begin, length, {index}});
    slices.by_key.push_back({s.k_begin, length, {index}});
  }
  const auto t = copies * length;
  // Deterministic values of attention-like magnitude; the rate does not depend on them.
  auto tensor = [&](const char* label, int heads, float scale) {
    auto x = attn::make_tensor(label, t, heads, layout.head_dim);
    auto view = attn::ref(x);
    for (std::int64_t i = 0; i < t * heads * layout.head_dim; ++i)
      view.data[i] = scale * static_cast<float>((i * 7919) % 13 - 6);
    return x;
  };
  auto q = tensor("q", layout.q_heads, 0.05f), k = tensor("k", layout.kv_heads, 0.04f), v = tensor("v", layout.kv_heads, 0.1f);
  auto dout = tensor("dout", layout.q_heads, 0.1f), out = tensor("out", layout.q_heads, 0.0f);
  auto dq = tensor("dq", layout.q_heads, 0.0f), dk = tensor("dk", layout.kv_heads, 0.0f), dv = tensor("dv", layout.kv_heads, 0.0f);
  auto lse = attn::make_row_stats("lse", t, layout.q_heads), rowsum = attn::make_row_stats("rowsum", t, layout.q_heads);
  attn::forward_partial(layout, slices, attn::ref(q), attn::ref(k), attn::ref(v), attn::ref(out), attn::ref(lse));
  attn::softmax_backward_rowsum(attn::ref(out), attn::ref(dout), attn::ref(rowsum));
  for (auto _ : state) {
    if (backward)
      attn::backward_accumulate(layout, slices, attn::ref(q), attn::ref(k), attn::ref(v), attn::ref(dout), attn::ref(lse),
                                attn::ref(rowsum), attn::ref(dq), attn::ref(dk), attn::ref(dv));
    else
      attn::forward_partial(layout, slices, attn::ref(q), attn::ref(k), attn::ref(v), attn::ref(out), attn::ref(lse));
    benchmark::ClobberMemory();
  }
  set_rate(state, backward ? attn::backward_flops(slices.area(), layout) : attn::forward_flops(slices.area(), layout));
}

// The ceiling: 16 independent accumulators of 16 floats keep every FMA pipe busy.
void BM_PeakFma(benchmark::State& state) {
  constexpr int kAcc = 16, kWidth = 16;
  alignas(64) float acc[kAcc][kWidth];
  for (auto& row : acc)
    for (auto& x : row) x = 1.0f;
  const float a = 0.999999f, b = 1e-7f;
  const std::int64_t rounds = 1 << 16;
  for (auto _ : state) {
    for (std::int64_t r = 0; r < rounds; ++r)
      for (auto& row : acc)
        for (int w = 0; w < kWidth; ++w) row[w] = row[w] * a + b;
    benchmark::DoNotOptimize(acc);
  }
  set_rate(state, 2.0 * rounds * kAcc * kWidth);
}

// C += A B with a 4 x 32 register tile over contiguous B rows, the classic blocked SGEMM.
void BM_Sgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> a(static_cast<std::size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size(), 0.0f);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) * 0.1f;
  for (auto _ : state) {
    for (int i = 0; i < n; i += 4)
      for (int j = 0; j < n; j += 32) {
        float tile[4][32] = {};
        for (int k = 0; k < n; ++k) {
          const float* brow = b.data() + static_cast<std::size_t>(k) * n + j;
          for (int ii = 0; ii < 4; ++ii) {
            const float av = a[static_cast<std::size_t>(i + ii) * n + k];
            for (int jj = 0; jj < 32; ++jj) tile[ii][jj] += av * brow[jj];
          }
        }
        for (int ii = 0; ii < 4; ++ii)
          for (int jj = 0; jj < 32; ++jj) c[static_cast<std::size_t>(i + ii) * n + j + jj] += tile[ii][jj];
      }
    benchmark::DoNotOptimize(c.data());
  }
  set_rate(state, 2.0 * n * n * n);
}

}  // namespace

BENCHMARK(BM_Slice)
    ->ArgNames({"length", "causal", "backward"})
    ->ArgsProduct({{16, 32, 64, 128, 256, 512, 1024, 2048, 4096}, {1, 0}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PeakFma)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sgemm)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AttentionForward)
    ->ArgNames({"tokens", "d", "packed"})
    ->Args({2048, 64, 0})
    ->Args({2048, 128, 0})
    ->Args({8192, 128, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AttentionBackward)
    ->ArgNames({"tokens", "d", "packed"})
    ->Args({2048, 64, 0})
    ->Args({2048, 128, 0})
    ->Args({8192, 128, 1})
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
