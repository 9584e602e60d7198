// Planning latency: how long a planner takes for one batch, the number that must stay far
// below a training step. Batches are drawn from inputs/datasets/debian-changelogs.txt (or the
// file in FLEXCP_BENCH_LENGTHS), LLaMA-3-8B on the H100 profile's rates and memory.
//   build/release/bench/flexcp_bench_planner --benchmark_filter=Flexcp
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "app/input/config.hpp"
#include "app/input/lengths_file.hpp"
#include "sched/batch_sampler.hpp"
#include "sched/flexsp_planner.hpp"
#include "sched/planner.hpp"

using namespace flexcp;
using namespace flexcp::sched;

namespace {

std::vector<std::int64_t> lengths() {
  const char* path = std::getenv("FLEXCP_BENCH_LENGTHS");
  return read_lengths_file(path ? path : FLEXCP_SOURCE_DIR "/inputs/datasets/debian-changelogs.txt");
}

// LLaMA-3-8B on H100 nodes: the model and hardware of inputs/plan-llama3-8b.toml, read from the
// shipped files (inputs/models/llama3-8b.toml, inputs/hardware/h100-dgx.toml) as `flexcp plan` does.
PlannerContext context(int nodes) {
  const std::filesystem::path input = FLEXCP_SOURCE_DIR "/inputs/plan-llama3-8b.toml";
  auto root = parse_toml_file(input, "benchmark input");
  resolve_includes(root, input.parent_path(), input.string());
  const Config config = config_from_table(root, input.string(), input.parent_path(), false, 1);
  const Cluster cluster{nodes, 8};
  const auto& m = config.model.shape;
  return {{cluster, m, config.hardware}, capacity_tokens(m, config.hardware, cluster.ranks())};
}

// Arguments: nodes (x 8 ranks), tokens per batch, and a divisor applied to every document
// length (10 turns the corpus's ~3K-token mean into ~300, i.e. thousands of documents per 1M
// tokens). Cycles through 16 batches so the rank-set history behaves as in a real stream.
template <std::unique_ptr<Planner> (*Make)(const PlannerContext&)>
void BM_Plan(benchmark::State& state) {
  const auto ctx = context(static_cast<int>(state.range(0)));
  auto samples = lengths();
  for (auto& l : samples) l = std::max<std::int64_t>(1, l / state.range(2));
  BatchSampler sampler(samples, state.range(1), 11);
  std::vector<Batch> batches;
  for (std::uint64_t i = 0; i < 16; ++i) batches.push_back(sampler.batch(i));
  auto planner = Make(ctx);
  std::size_t i = 0, documents = 0;
  for (auto _ : state) {
    auto plan = planner->plan(batches[i % batches.size()]);
    documents += batches[i % batches.size()].doc_lengths.size();
    benchmark::DoNotOptimize(plan);
    ++i;
  }
  state.counters["docs/batch"] = static_cast<double>(documents) / static_cast<double>(i);
  state.counters["ranks"] = ctx.cost.cluster.ranks();
}

std::unique_ptr<Planner> make_flexcp(const PlannerContext& c) { return make_flexcp_planner(c); }
std::unique_ptr<Planner> make_megatron_c8(const PlannerContext& c) { return make_static_planner(c, 8, CommScheme::ring); }
}  // namespace

BENCHMARK(BM_Plan<make_flexcp>)
    ->Name("FlexcpPlan")
    ->ArgNames({"nodes", "tokens", "len_div"})
    ->Args({128, 1 << 20, 1})
    ->Args({128, 1 << 20, 10})
    ->Args({2048, 1 << 24, 1})
    ->Args({2048, 1 << 24, 10})
    ->Unit(benchmark::kMillisecond);
// FlexSP's greedy: its MILP runs under a time limit (10 s by default); `flexcp plan` reports the
// MILP's planning time per batch (plan(ms) and planning_s).
BENCHMARK(BM_Plan<make_flexsp_greedy_planner>)
    ->Name("FlexspGreedyPlan")
    ->ArgNames({"nodes", "tokens", "len_div"})
    ->Args({128, 1 << 20, 10})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plan<make_megatron_c8>)
    ->Name("MegatronC8Plan")
    ->ArgNames({"nodes", "tokens", "len_div"})
    ->Args({128, 1 << 20, 10})
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
