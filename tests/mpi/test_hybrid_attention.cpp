// flexcp's hybrid scheme (all-to-all over heads inside each node, needed-KV across nodes per head
// shard) executed over emulated nodes (FLEXCP_RANKS_PER_NODE; ctest runs np 4, 6 and 8 with 2, 3
// and 4 ranks per node) against the float64 reference, forward and backward, with the bytes the
// executor counts equal to the cost model's on every rank. Head layouts cover KV heads split
// (H_kv >= block) and replicated (H_kv < block), and blocks of 2, 3 and 4.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "attn/executor_choice.hpp"
#include "attn/host_backend.hpp"
#include "attn/hybrid_attention.hpp"
#include "plan_execution_support.hpp"
#include "sched/hybrid_layout.hpp"
#include "sched/rank_program.hpp"
#include "transports.hpp"

using namespace flexcp;

namespace {
const attn::HeadLayout kLayouts[] = {{8, 2, 8}, {12, 6, 4}, {8, 1, 8}};

// One group of every rank under the hybrid scheme: documents longer than the group split,
// the others whole on members in turn (the executor's local path beside the exchanges).
sched::Plan hybrid_plan(const sched::Batch& batch, int ranks, int inner) {
  sched::CpGroup group;
  group.ranks.resize(static_cast<std::size_t>(ranks));
  std::iota(group.ranks.begin(), group.ranks.end(), 0);
  group.comm = sched::CommScheme::hybrid;
  group.inner = inner;
  for (std::int32_t d = 0; d < static_cast<std::int32_t>(batch.doc_lengths.size()); ++d) {
    const bool split = batch.doc_lengths[static_cast<std::size_t>(d)] >= ranks;
    group.docs.push_back({d, split ? sched::Sharding::split : sched::Sharding::whole, d % ranks});
  }
  sched::Plan plan;
  plan.strategy = "hybrid-test";
  plan.batch = batch;
  plan.micro_batches.push_back({{group}});
  return plan;
}
}  // namespace

TEST(HybridAttention, MatchesFloat64ReferenceAndModelledBytesAcrossNodes) {
  const int p = [] { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }();
  std::vector<std::int32_t> all(static_cast<std::size_t>(p));
  std::iota(all.begin(), all.end(), 0);
  int layouts_run = 0;
  for (const auto& layout : kLayouts) {
    const auto ctx = test_support::execution_context(1 << 20, layout);
    const int inner = sched::hybrid_inner(all, ctx.cost.cluster, ctx.cost.model);
    if (inner == 0) continue;  // one node, or no block size that splits these heads
    ++layouts_run;
    const std::string heads = "H_q " + std::to_string(layout.q_heads) + ", H_kv " + std::to_string(layout.kv_heads) +
                              ", blocks of " + std::to_string(inner);
    for (const auto& kind : test_support::transport_kinds()) {
      auto transport = test_support::make_transport(kind);
      std::mt19937_64 rng(777);  // the same batches on every rank
      for (int trial = 0; trial < 3; ++trial) {
        const auto plan = hybrid_plan(test_support::test_batch(rng, trial, p), p, inner);
        comm::CommunicatorCache cache(MPI_COMM_WORLD, 4);
        // The hybrid executor is what runs this plan.
        const auto program = sched::compile_rank_program(plan, test_support::world_rank()).micro_batches.front();
        cache.prepare(attn::collective_rank_sets(plan).front());
        attn::HostKernels kernels;
        const auto executor = attn::make_group_attention(program, layout, *transport,
                                                         &cache.get(attn::collective_members(program)), kernels, "test");
        EXPECT_NE(dynamic_cast<attn::HybridAttention*>(executor.get()), nullptr);
        EXPECT_EQ(attn::collective_members(program).size(), static_cast<std::size_t>(inner));
        const auto c = test_support::execute_and_check(plan, layout, *transport, cache, 300 + trial);
        test_support::expect_exact(c, plan, ctx, layout, heads + " over " + kind + ", trial " + std::to_string(trial));
      }
    }
  }
  const auto cluster = test_support::execution_context(1, kLayouts[0]).cost.cluster;
  if (cluster.nodes > 1 && cluster.ranks_per_node >= 2 && cluster.ranks_per_node <= 4) {
    EXPECT_GT(layouts_run, 0) << "some head layout must fit blocks of 2, 3 or 4";
  }
}
