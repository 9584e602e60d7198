// Every strategy's plan executed on the MPI backend against the float64 single-process
// reference, with the bytes the executor counts checked against the cost model's, exactly.
// Run by ctest at np 1..8 (3, 5, 6, 7 included) and on emulated and real multi-node topologies.
#include <gtest/gtest.h>
#include <mpi.h>

#include <map>
#include <random>
#include <set>

#include "attn/host_backend.hpp"
#include "attn/hybrid_attention.hpp"
#include "attn/ulysses_attention.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/topology.hpp"
#include "app/run/run_setup.hpp"
#include "app/strategies.hpp"
#include "plan_execution_support.hpp"
#include "sched/hybrid_layout.hpp"
#include "sched/planner.hpp"
#include "transports.hpp"

using namespace flexcp;
using test_support::world_rank;

namespace {
using test_support::Checked;
using test_support::test_batch;
const attn::HeadLayout kLayout{8, 2, 8};

sched::PlannerContext context(std::int64_t capacity_tokens) {
  return test_support::execution_context(capacity_tokens, kLayout);
}

struct Strategy {
  std::string name;
  std::unique_ptr<sched::Planner> planner;
};

// Every strategy of the table that flexcp run executes, at the degrees the world size allows:
// static ones over every rank, and the ring also at the smallest factor of the rank count.
std::vector<Strategy> strategies(const sched::PlannerContext& ctx) {
  const int p = ctx.cost.cluster.ranks();
  Config config;
  config.model.heads = kLayout;
  std::vector<Strategy> out;
  for (const auto& row : strategy_table()) {
    if (!row.runs) continue;
    if (row.planner != PlannerKind::static_degree) {
      out.push_back({row.name, make_planner(row, ctx, 0)});
      continue;
    }
    std::vector<int> degrees{row.scheme == sched::CommScheme::all_to_all ? ulysses_degree(config, p) : p};
    for (int f = 2; row.scheme == sched::CommScheme::ring && f < p; ++f)
      if (p % f == 0) {
        degrees.push_back(f);
        break;
      }
    for (int d : degrees) out.push_back({row.name + "-c" + std::to_string(d), make_planner(row, ctx, d)});
  }
  // flexcp where point-to-point is slow: its groups choose the collective schemes, which must
  // execute exactly too (all-gather alone, and every scheme).
  auto slow = ctx;
  slow.cost.hardware.intra_bandwidth = slow.cost.hardware.inter_bandwidth = 1e6;
  slow.cost.hardware.intra_latency = slow.cost.hardware.inter_latency = 1e-3;
  out.push_back({"flexcp-slow-p2p", sched::make_flexcp_planner(slow)});
  out.push_back({"flexcp-slow-p2p-allgather", sched::make_flexcp_planner(slow, {true, false, false})});
  // flexcp where links between nodes are 50x slower than inside (and pay a latency): groups
  // spanning nodes choose the hybrid, which sends one head shard's KV across.
  auto slow_inter = ctx;
  slow_inter.cost.hardware.inter_bandwidth = 1e8;
  slow_inter.cost.hardware.a2a_inter_bandwidth = {{2, 1e8}};
  slow_inter.cost.hardware.inter_latency = 1e-5;
  out.push_back({"flexcp-slow-inter", sched::make_flexcp_planner(slow_inter)});
  return out;
}

Checked execute_and_check(const sched::Plan& plan, comm::Transport& transport, comm::CommunicatorCache& cache,
                          std::uint64_t seed) {
  return test_support::execute_and_check(plan, kLayout, transport, cache, seed);
}

void expect_exact(const Checked& c, const sched::Plan& plan, const sched::PlannerContext& ctx, const std::string& what) {
  test_support::expect_exact(c, plan, ctx, kLayout, what);
}
}  // namespace

TEST(PlanExecution, EveryStrategyMatchesFloat64ReferenceAndModelledBytes) {
  const auto ctx = context(1 << 20);
  auto planners = strategies(ctx);
  std::map<std::string, std::set<sched::CommScheme>> used;
  for (const auto& kind : test_support::transport_kinds()) {
    auto transport = test_support::make_transport(kind);
    std::mt19937_64 rng(4242);  // same seed everywhere: the same batches on every rank
    for (int trial = 0; trial < 3; ++trial) {
      const auto batch = test_batch(rng, trial, ctx.cost.cluster.ranks());
      for (auto& s : planners) {
        comm::CommunicatorCache cache(MPI_COMM_WORLD, 4);
        const auto plan = s.planner->plan(batch);
        for (const auto& mb : plan.micro_batches)
          for (const auto& g : mb.groups)
            if (g.ranks.size() >= 2) used[s.name].insert(g.comm);
        const auto c = execute_and_check(plan, *transport, cache, 900 + trial);
        expect_exact(c, plan, ctx, s.name + " over " + kind + ", trial " + std::to_string(trial));
      }
    }
  }
  // The collective schemes flexcp can choose were really chosen, so the checks above covered them.
  const int p = ctx.cost.cluster.ranks();
  if (p >= 2) {
    // At np 2 the planner keeps a whole document beside the split one, which rules all-gather
    // out (megatron-cp-allgather covers that executor there).
    if (p >= 3) {
      EXPECT_TRUE(used["flexcp-slow-p2p-allgather"].count(sched::CommScheme::all_gather)) << "np " << p;
    }
    if (attn::ulysses_layout_problem(p, kLayout).empty()) {
      EXPECT_TRUE(used["flexcp-slow-p2p"].count(sched::CommScheme::all_to_all)) << "np " << p;
    }
    std::vector<std::int32_t> all(static_cast<std::size_t>(p));
    for (int r = 0; r < p; ++r) all[static_cast<std::size_t>(r)] = r;
    if (sched::hybrid_inner(all, ctx.cost.cluster, ctx.cost.model) > 0) {
      EXPECT_TRUE(used["flexcp-slow-inter"].count(sched::CommScheme::hybrid)) << "np " << p;
    }
  }
}

TEST(PlanExecution, MicroBatchesWhenMemoryDemands) {
  const int p = [] { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }();
  std::mt19937_64 rng(99);
  const auto batch = test_batch(rng, 2, p);
  std::int64_t longest = 0;
  for (auto l : batch.doc_lengths) longest = std::max(longest, l);
  // Room for the longest document split over every rank, but well under the batch at once.
  const std::int64_t capacity = std::max<std::int64_t>(2 * ((longest + 2 * p - 1) / (2 * p)) + 2, batch.total_tokens() / (3 * p));
  const auto ctx = context(capacity);
  for (const auto& kind : test_support::transport_kinds()) {
    auto transport = test_support::make_transport(kind);
    comm::CommunicatorCache cache(MPI_COMM_WORLD, 2);
    for (auto& s : strategies(ctx)) {
      sched::Plan plan;
      try {
        plan = s.planner->plan(batch);
      } catch (const ConfigError&) {
        continue;  // a static degree whose sequences cannot hold the longest document
      }
      if (s.name == "flexcp") {
        EXPECT_GE(plan.micro_batches.size(), 2u);
      }
      const auto c = execute_and_check(plan, *transport, cache, 77);
      expect_exact(c, plan, ctx,
                   s.name + " over " + kind + " with " + std::to_string(plan.micro_batches.size()) + " micro-batches");
    }
  }
}

// flexcp moves only the KV that queries need; Megatron's ring moves whole shards.
TEST(PlanExecution, FlexcpNeverSendsMoreThanTheRing) {
  const auto ctx = context(1 << 20);
  comm::MpiTransport transport(MPI_COMM_WORLD);
  attn::HostKernels kernels;
  const int p = ctx.cost.cluster.ranks();
  auto flexcp = sched::make_flexcp_planner(ctx, {false, false});  // needed-KV only: what this compares
  auto ring = sched::make_static_planner(ctx, p, sched::CommScheme::ring);
  std::mt19937_64 rng(31337);
  for (int trial = 0; trial < 4; ++trial) {
    const auto batch = test_batch(rng, trial, p);
    comm::CommunicatorCache cache(MPI_COMM_WORLD, 4);
    const double mine = execute_plan(flexcp->plan(batch), kLayout, transport, cache, kernels, 5).bytes_sent;
    const double theirs = execute_plan(ring->plan(batch), kLayout, transport, cache, kernels, 5).bytes_sent;
    double totals[2] = {mine, theirs};
    MPI_Allreduce(MPI_IN_PLACE, totals, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    EXPECT_LE(totals[0], totals[1]) << "trial " << trial;
  }
}

// Every rank keeps the same bookkeeping, so hits, misses and evictions agree without talking,
// and reuse across batches really reuses.
TEST(CommunicatorCache, ReusesAndEvictsTheSameWayOnEveryRank) {
  const int p = [] { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }();
  if (p < 3) GTEST_SKIP() << "needs two different rank sets of >= 2 ranks";
  std::vector<int> all(static_cast<std::size_t>(p));
  for (int r = 0; r < p; ++r) all[static_cast<std::size_t>(r)] = r;
  const std::vector<int> first_two{0, 1};
  comm::CommunicatorCache cache(MPI_COMM_WORLD, 1);
  cache.prepare({all});
  cache.prepare({all});
  auto s = cache.take_stats();
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.live, 1);
  cache.prepare({first_two});  // capacity 1: `all` is evicted
  s = cache.take_stats();
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.evictions, 1);
  EXPECT_EQ(s.live, 1);
  if (world_rank() < 2) {
    auto& group = cache.get(first_two);
    EXPECT_EQ(group.size(), 2);
    EXPECT_EQ(group.position(), world_rank());
    float mine = static_cast<float>(world_rank() + 1), both[2] = {0, 0};
    auto t = group.start_allgatherv(View{&mine, 1}, View{both, 2}, {1, 1});
    group.wait(t);
    EXPECT_EQ(both[0], 1.0f);
    EXPECT_EQ(both[1], 2.0f);
  }
}

// Start-up communicators outlive any churn in the cache: never evicted, not counted against its
// capacity, and usable afterwards.
TEST(CommunicatorCache, StandingSetsAreNeverEvicted) {
  const int p = [] { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }();
  if (p < 4) GTEST_SKIP() << "needs two disjoint pairs and a third set";
  std::vector<std::vector<int>> pairs;
  for (int first = 0; first + 1 < p; first += 2) pairs.push_back({first, first + 1});
  comm::CommunicatorCache cache(MPI_COMM_WORLD, 1);
  cache.make_standing(pairs);
  auto s = cache.take_stats();
  EXPECT_EQ(s.misses, 0) << "start-up creation is not a step's";
  EXPECT_EQ(s.live, static_cast<std::int64_t>(pairs.size()));
  const std::vector<int> middle{1, 2}, last_three{p - 3, p - 2, p - 1};
  cache.prepare({middle});
  cache.prepare({last_three});  // capacity 1: `middle` goes, the pairs stay
  cache.prepare({pairs.front()});
  s = cache.take_stats();
  EXPECT_EQ(s.misses, 2);
  EXPECT_EQ(s.hits, 1) << "a standing pair is a hit";
  EXPECT_EQ(s.evictions, 1);
  EXPECT_EQ(s.live, static_cast<std::int64_t>(pairs.size()) + 1);
  for (const auto& pair : pairs) {
    if (world_rank() != pair[0] && world_rank() != pair[1]) continue;
    auto& group = cache.get(pair);
    float mine = static_cast<float>(world_rank() + 1), both[2] = {0, 0};
    auto t = group.start_allgatherv(View{&mine, 1}, View{both, 2}, {1, 1});
    group.wait(t);
    EXPECT_EQ(both[0], static_cast<float>(pair[0] + 1));
    EXPECT_EQ(both[1], static_cast<float>(pair[1] + 1));
  }
  // Overlapping sets cannot come from one split: every rank refuses the same list.
  EXPECT_THROW(cache.make_standing({{0, 2}, {1, 2}}), Error);
}
