// The GPU implementation of the kernel interface (attn/cuda/cuda_backend.hpp) under the same
// generic executors the CPU runs: every scheme (ring, needed-KV, all-gather, Ulysses) at group
// sizes 1 to 4, as threads on one device (local_exchange.hpp), against the float64 reference per
// document, with the kernel calls counted: every visible pair goes through CudaKernels exactly
// once, so no executor is bypassed on this backend either. ctest label `gpu`: skipped (never
// passed) where no CUDA device exists.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "../random_batch.hpp"
#include "attn/compare.hpp"
#include "attn/cuda/cuda_backend.hpp"
#include "attn/executor_choice.hpp"
#include "attn/host_backend.hpp"
#include "attn/local_tensors.hpp"
#include "attn/synthetic_inputs.hpp"
#include "attn/ulysses_attention.hpp"
#include "local_exchange.hpp"
#include "sched/rank_program.hpp"

using namespace flexcp;

namespace {
const attn::HeadLayout kLayout{8, 2, 16};

// Why no device can run the tests, or "" after selecting device 0.
std::string no_device() {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(rc);
  }
  if (count == 0) return "no CUDA device visible";
  return cudaSetDevice(0) == cudaSuccess ? "" : "cudaSetDevice(0) failed";
}

// One group of ranks 0..p-1 holding the whole batch; documents alternate whole (owned in turn)
// and split where the scheme allows whole documents.
sched::Plan one_group(const sched::Batch& batch, sched::CommScheme scheme, int p) {
  sched::Plan plan;
  plan.strategy = std::string("test-") + sched::to_string(scheme);
  plan.batch = batch;
  sched::CpGroup group;
  group.comm = scheme;
  for (int r = 0; r < p; ++r) group.ranks.push_back(r);
  const bool whole_allowed = scheme == sched::CommScheme::needed_kv || scheme == sched::CommScheme::all_to_all;
  for (std::size_t d = 0; d < batch.doc_lengths.size(); ++d) {
    const bool whole = whole_allowed && d % 2 == 1;
    group.docs.push_back({static_cast<std::int32_t>(d), whole ? sched::Sharding::whole : sched::Sharding::split,
                          static_cast<std::int32_t>(whole ? d % static_cast<std::size_t>(p) : 0)});
  }
  plan.micro_batches.push_back({{group}});
  return plan;
}

struct RankOutcome {
  sched::RankShard shard;
  attn::HostResults results;
  attn::KernelCounts counts;
  std::string error;
};

std::vector<RankOutcome> run_as_threads(const sched::Plan& plan, int p, Element operands, attn::cuda::AttentionEngine engine,
                                        std::uint64_t seed) {
  test_support::LocalExchange exchange;
  test_support::LocalGroupHub hub(p);
  std::vector<RankOutcome> outcomes(static_cast<std::size_t>(p));
  std::vector<std::thread> threads;
  for (int r = 0; r < p; ++r)
    threads.emplace_back([&, r] {
      auto& out = outcomes[static_cast<std::size_t>(r)];
      try {
        if (cudaSetDevice(0) != cudaSuccess) throw Error("cudaSetDevice(0) failed");
        attn::cuda::CudaKernels kernels(operands, engine);
        test_support::LocalTransport transport(exchange, r, p, kernels.stream());
        test_support::LocalGroup group(hub, p, r, kernels.stream());
        const auto program = sched::compile_rank_program(plan, r).micro_batches[0];
        const bool collective = attn::needs_group_collectives(program.members.size(), program.comm);
        auto executor = attn::make_group_attention(program, kLayout, transport, collective ? &group : nullptr, kernels,
                                                   plan.strategy);
        auto t = attn::make_local_tensors(kernels, program.local(), plan.batch.doc_offsets(), kLayout, seed);
        executor->forward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view());
        executor->backward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view(), t.dout.view(), t.dq.view(), t.dkv.view());
        attn::append_results(kernels, t, out.results);
        out.shard = program.local();
        out.counts = kernels.counts();
      } catch (const std::exception& e) {
        out.error = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return outcomes;
}

// The ranks' rows in global token order.
attn::GlobalResults assemble(const sched::Batch& batch, const std::vector<RankOutcome>& ranks) {
  const auto offsets = batch.doc_offsets();
  const auto tokens = static_cast<std::size_t>(batch.total_tokens());
  const std::size_t qw = static_cast<std::size_t>(kLayout.q_heads * kLayout.head_dim);
  const std::size_t kw = static_cast<std::size_t>(kLayout.kv_heads * kLayout.head_dim);
  attn::GlobalResults g{std::vector<float>(tokens * qw), std::vector<float>(tokens * qw), std::vector<float>(tokens * kw),
                        std::vector<float>(tokens * kw)};
  for (const auto& rank : ranks)
    for (const auto& seg : rank.shard.segments)
      for (std::int64_t i = 0; i < seg.length; ++i) {
        const auto global = static_cast<std::size_t>(offsets[static_cast<std::size_t>(seg.doc)] + seg.pos_begin + i);
        const auto local = static_cast<std::size_t>(seg.local_begin + i);
        std::copy_n(rank.results.out.begin() + local * qw, qw, g.out.begin() + global * qw);
        std::copy_n(rank.results.dq.begin() + local * qw, qw, g.dq.begin() + global * qw);
        std::copy_n(rank.results.dk.begin() + local * kw, kw, g.dk.begin() + global * kw);
        std::copy_n(rank.results.dv.begin() + local * kw, kw, g.dv.begin() + global * kw);
      }
  return g;
}
}  // namespace

// Every scheme at group sizes 1-4 (threads on one device) through `engines`, against float64.
static void check_every_scheme(const std::vector<std::tuple<Element, attn::cuda::AttentionEngine, double>>& engines) {
  using sched::CommScheme;
  std::mt19937_64 rng(71);
  for (auto [operands, engine, tolerance] : engines)
    for (auto scheme : {CommScheme::ring, CommScheme::needed_kv, CommScheme::all_gather, CommScheme::all_to_all})
      for (int p = 1; p <= 4; ++p) {
        if (scheme == CommScheme::all_to_all && !attn::ulysses_layout_problem(p, kLayout).empty()) continue;
        auto batch = test_support::random_batch(rng, 6, 200);
        batch.doc_lengths.push_back(1);
        batch.doc_lengths.push_back(40 * p);
        const auto plan = one_group(batch, scheme, p);
        const auto what = plan.strategy + " P=" + std::to_string(p) + " " + to_string(operands) + " " +
                          attn::cuda::engine_name(engine);
        const auto ranks = run_as_threads(plan, p, operands, engine, 300 + static_cast<std::uint64_t>(p));
        double forward_pairs = 0, backward_pairs = 0;
        for (const auto& r : ranks) {
          ASSERT_TRUE(r.error.empty()) << what << ": " << r.error;
          forward_pairs += r.counts.forward_pairs;
          backward_pairs += r.counts.backward_pairs;
        }
        const auto ref = attn::reference_attention(plan.batch, kLayout,
                                                   attn::synthetic_global_inputs(batch.total_tokens(), kLayout, 300 + p));
        const auto c = attn::compare_with_reference(plan.batch, kLayout, assemble(plan.batch, ranks), ref);
        EXPECT_LT(c.worst(), tolerance) << what << ": " << c.describe(plan.batch);
        EXPECT_DOUBLE_EQ(forward_pairs, plan.batch.causal_mask_area() * kLayout.q_heads) << what;
        EXPECT_DOUBLE_EQ(backward_pairs, plan.batch.causal_mask_area() * kLayout.q_heads) << what;
      }
}

TEST(CudaExecutors, EverySchemeMatchesFloat64ReferenceThroughTheKernels) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  using attn::cuda::AttentionEngine;
  // bf16 through flexcp's SIMT kernels (the tensor-core ones do not take head_dim 16).
  check_every_scheme({{Element::fp32, AttentionEngine::automatic, 1e-4}, {Element::bf16, AttentionEngine::simt, 3e-2}});
}

// Known to fail (GPU run 7, H200, 2026-11-27): through cuDNN's engine the gradients of documents
// of 1-7 tokens were off (29% to inf) in every scheme; the engine is off by default until this
// passes. Run with --gtest_also_run_disabled_tests.
TEST(CudaExecutors, DISABLED_EverySchemeThroughCudnnMatchesFloat64Reference) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  check_every_scheme({{Element::bf16, attn::cuda::AttentionEngine::cudnn, 3e-2}});
}

TEST(CudaKernels, DataMovementMatchesTheHostKernels) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  attn::HostKernels host;
  attn::cuda::CudaKernels device;
  std::vector<float> values(1000);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (auto& v : values) v = value(rng);
  const std::vector<attn::BlockCopy> blocks{{3, 100, 7, 5, 20, 9}, {0, 0, 50}, {500, 600, 30, 3, 100, 31}};
  auto run = [&](attn::Kernels& k) {
    auto a = k.allocate("a", 1000), b = k.allocate("b", 1000);
    k.upload(values.data(), a.view());
    k.fill(b.view(), 0.25f);
    k.accumulate(b.slice(0, 400), a.slice(600, 400));
    const auto copies = k.prepare(blocks);
    k.copy(*copies, a.view(), b.view(), true);
    k.copy(*copies, b.view(), a.view(), false);
    std::vector<float> out(2000);
    k.download(a.view(), out.data());
    k.download(b.view(), out.data() + 1000);
    return out;
  };
  EXPECT_EQ(run(host), run(device));  // the same additions in the same order: bit for bit
  auto on_host = host.allocate("h", 4);
  EXPECT_THROW(device.fill(on_host.view(), 0.0f), Error) << "a host buffer handed to the CUDA kernels";
}

TEST(CudaKernels, Bf16OperandsAreConvertedOnceIntoScratch) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  attn::cuda::CudaKernels device(Element::bf16);
  auto values = device.allocate("values", 64);
  device.fill(values.view(), 1.5f);
  attn::Buffer scratch;
  const auto operand = device.operand(values.view(), scratch);
  EXPECT_EQ(operand.element, Element::bf16);
  EXPECT_EQ(operand.count, 64);
  EXPECT_EQ(device.counts().conversions, 1);
  EXPECT_THROW(device.fill(operand, 0.0f), Error) << "bf16 operands are read-only to the data movement";
}

// The attention engine is the constructor's choice, named in description(); cuDNN needs bf16
// operands and says so instead of running something else.
TEST(CudaKernels, AttentionEngineIsChosenAndNamed) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  using attn::cuda::AttentionEngine;
  EXPECT_THROW(attn::cuda::CudaKernels(Element::fp32, AttentionEngine::cudnn), Error);
  const attn::cuda::CudaKernels cudnn(Element::bf16, AttentionEngine::cudnn);  // starts cuDNN: fails loudly here
  EXPECT_NE(cudnn.description().find("attention: cudnn"), std::string::npos) << cudnn.description();
  const attn::cuda::CudaKernels automatic(Element::bf16);
  // automatic keeps the tensor-core kernels until the cuDNN path passes on a GPU (cuda_backend.cpp).
  EXPECT_NE(automatic.description().find("tensor-core where it covers"), std::string::npos) << automatic.description();
  const attn::cuda::CudaKernels tensor_core(Element::bf16, AttentionEngine::tensor_core);
  EXPECT_NE(tensor_core.description().find("attention: tensor-core"), std::string::npos) << tensor_core.description();
}
