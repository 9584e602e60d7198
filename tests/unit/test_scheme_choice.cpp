// flexcp's per-group scheme choice: over random batches and topologies the chosen scheme is one
// flexcp run executes, and no executable scheme models faster for the group; a communicator that
// would have to be created is paid for only where it makes the micro-batch faster.
#include <gtest/gtest.h>

#include <random>

#include "../random_batch.hpp"
#include "planner_fixtures.hpp"
#include "sched/communicator_accounting.hpp"
#include "sched/cost_model.hpp"
#include "sched/planner.hpp"
#include "sched/scheme_choice.hpp"
#include "sched/standing_communicators.hpp"
#include "sched/static_layout.hpp"

using namespace flexcp;
using namespace flexcp::sched;
using namespace flexcp::sched::fixtures;

namespace {
// Hardware where point-to-point is slow and collectives are not, so every scheme gets chosen somewhere.
HardwareProfile slow_p2p(double memory_bytes) {
  auto hw = test_hardware(memory_bytes);
  hw.intra_bandwidth = hw.inter_bandwidth = 1e9;
  hw.intra_latency = hw.inter_latency = 1e-3;
  return hw;
}
// Slow compute, and point-to-point messages slow enough that pipelining cannot hide them: the
// one-shot all-gather beats the needed-KV stages on some groups.
HardwareProfile slow_everything(double memory_bytes) {
  auto hw = slow_p2p(memory_bytes);
  hw.attention_flops = 20e9;
  hw.matmul_flops = 60e9;
  hw.intra_bandwidth = hw.inter_bandwidth = 1e6;
  return hw;
}
}  // namespace

TEST(SchemeChoice, EachGroupGetsItsFastestExecutableScheme) {
  std::mt19937_64 rng(2026);
  std::uniform_int_distribution<int> per_node(1, 8), nodes(1, 4);
  int chosen[6] = {0, 0, 0, 0, 0, 0};
  for (int trial = 0; trial < 40; ++trial) {
    const Cluster cluster{nodes(rng), per_node(rng)};
    const auto hw = trial % 4 == 0 ? slow_everything(1e12) : trial % 2 == 0 ? slow_p2p(1e12) : test_hardware(1e12);
    const PlannerContext context{{cluster, small_model(), hw}, 1 << 20};
    auto batch = test_support::random_batch(rng, 6 + trial % 10, trial % 4 == 0 ? 150 : 20000);
    batch.doc_lengths.push_back(trial % 4 == 0 ? 40 * cluster.ranks() : 60000);  // split by every planner
    // Half the trials without Ulysses, where all-gather is the collective left.
    const SchemeSet allowed{true, trial % 4 != 0};
    const auto plan = make_flexcp_planner(context, allowed)->plan(batch);
    EXPECT_TRUE(plan_problems(plan, batch.total_tokens(), cluster, 1 << 20, true).empty());
    for (const auto& mb : plan.micro_batches)
      for (const auto& group : mb.groups) {
        if (group.ranks.size() < 2) continue;
        int inner = 1;
        const auto schemes = executable_schemes(group, cluster, context.cost.model, allowed, &inner);
        ASSERT_NE(std::find(schemes.begin(), schemes.end(), group.comm), schemes.end())
            << to_string(group.comm) << " is not executable for a group of " << group.ranks.size();
        chosen[static_cast<int>(group.comm)] += 1;
        // No communicator existed before this first plan and creation is free here: the
        // fastest scheme wins outright.
        const double mine = group_time_s(plan, group, context.cost);
        for (auto other : schemes) {
          auto copy = group;
          copy.comm = other;
          copy.inner = other == CommScheme::hybrid ? inner : 1;
          EXPECT_LE(mine, group_time_s(plan, copy, context.cost) * (1 + 1e-12))
              << to_string(other) << " models faster than the chosen " << to_string(group.comm);
        }
      }
  }
  // The property means something only if each executable scheme is chosen somewhere.
  EXPECT_GT(chosen[static_cast<int>(CommScheme::needed_kv)], 0);
  EXPECT_GT(chosen[static_cast<int>(CommScheme::all_to_all)], 0);
  EXPECT_GT(chosen[static_cast<int>(CommScheme::all_gather)], 0);
  EXPECT_EQ(chosen[static_cast<int>(CommScheme::ring)], 0);
  EXPECT_EQ(chosen[static_cast<int>(CommScheme::hierarchical)], 0);
}

// Slow links between nodes, fast ones inside: a document spanning nodes takes the hybrid
// (all-to-all inside each node, needed-KV across for one head shard); its cost terms follow
// docs/cost-model.md.
TEST(SchemeChoice, HybridForGroupsSpanningNodes) {
  const Cluster cluster{4, 4};
  auto hw = test_hardware(1e12);
  hw.inter_bandwidth = 1e9;
  const PlannerContext context{{cluster, small_model(), hw}, 1 << 20};
  const Batch batch{{200000}};
  const auto plan = make_flexcp_planner(context)->plan(batch);
  const auto& group = plan.micro_batches.front().groups.front();
  ASSERT_EQ(group.comm, CommScheme::hybrid) << to_string(group.comm) << " over " << group.ranks.size() << " ranks";
  EXPECT_EQ(group.inner, 4);
  EXPECT_EQ(communicator_sets(group).size(), group.ranks.size() / 4) << "one all-to-all communicator per node";
  // Without it (the planner as it was), the modelled step is no faster.
  const auto without = make_flexcp_planner(context, {true, true, false})->plan(batch);
  EXPECT_LT(evaluate_plan(plan, context.cost).step_time_s, evaluate_plan(without, context.cost).step_time_s);
}

// Adding the hybrid never makes flexcp's plan slower under the cost model (random batches,
// machines of 2-16 nodes of 2-8 ranks, the H100 profile's shape of links).
TEST(SchemeChoice, HybridNeverMakesThePlanSlower) {
  std::mt19937_64 rng(1212);
  std::uniform_int_distribution<int> per_node(2, 8), nodes(2, 16);
  int hybrid_groups = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Cluster cluster{nodes(rng), per_node(rng)};
    auto hw = test_hardware(1e12);
    hw.inter_bandwidth = trial % 2 == 0 ? 20e9 : 2e9;
    const PlannerContext context{{cluster, small_model(), hw}, 1 << 20};
    auto batch = test_support::random_batch(rng, 4 + trial % 20, 30000);
    batch.doc_lengths.push_back(20000 * cluster.nodes);  // one document worth spanning nodes
    const auto with = make_flexcp_planner(context)->plan(batch);
    const auto without = make_flexcp_planner(context, {true, true, false})->plan(batch);
    for (const auto& mb : with.micro_batches)
      for (const auto& g : mb.groups) hybrid_groups += g.comm == CommScheme::hybrid ? 1 : 0;
    EXPECT_LE(evaluate_plan(with, context.cost).step_time_s, evaluate_plan(without, context.cost).step_time_s * (1 + 1e-9))
        << "trial " << trial << ": " << cluster.nodes << " nodes of " << cluster.ranks_per_node;
  }
  EXPECT_GT(hybrid_groups, 0);
}

TEST(SchemeChoice, HybridNeedsBlocksOfAUlyssesSizeInsideNodes) {
  const auto m = small_model();  // H_q 8, H_kv 4
  CpGroup group{{0, 1, 2, 3, 4, 5}, {{0, Sharding::split, 0}}, CommScheme::needed_kv};
  int inner = 0;
  auto has_hybrid = [&](const Cluster& cluster) {
    const auto s = executable_schemes(group, cluster, m, {}, &inner);
    return std::find(s.begin(), s.end(), CommScheme::hybrid) != s.end();
  };
  EXPECT_FALSE(has_hybrid({1, 8})) << "one node: plain Ulysses or needed-KV";
  EXPECT_FALSE(has_hybrid({2, 3})) << "3 does not divide H_q = 8";
  EXPECT_TRUE(has_hybrid({3, 2}));
  EXPECT_EQ(inner, 2);
  group.ranks = {2, 3, 4, 5, 6, 7, 8, 9};  // nodes of 4: [2, 3] [4..7] [8, 9]
  EXPECT_TRUE(has_hybrid({3, 4}));
  EXPECT_EQ(inner, 2) << "blocks of 4 would straddle nodes";
  group.ranks = {0, 1, 2, 3};
  EXPECT_FALSE(has_hybrid({3, 4})) << "inside one node";
  group.ranks = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_TRUE(has_hybrid({2, 4}));
  EXPECT_EQ(inner, 4) << "the largest blocks: one per node";
  const auto without = executable_schemes(group, Cluster{2, 4}, m, {true, true, false});
  EXPECT_EQ(std::find(without.begin(), without.end(), CommScheme::hybrid), without.end());
}

TEST(SchemeChoice, NotExecutableSchemesAreNeverOffered) {
  CpGroup group{{0, 1, 2}, {{0, Sharding::split, 0}, {1, Sharding::whole, 1}}, CommScheme::needed_kv};
  // H_q 8, H_kv 4: three ranks cannot split the heads; a whole document rules out all-gather.
  const Cluster node{1, 8};
  EXPECT_EQ(executable_schemes(group, node, small_model(), {}), std::vector<CommScheme>{CommScheme::needed_kv});
  group.ranks = {0, 1, 2, 3};
  EXPECT_EQ(executable_schemes(group, node, small_model(), {}),
            (std::vector<CommScheme>{CommScheme::needed_kv, CommScheme::all_to_all}));
  group.docs.pop_back();
  EXPECT_EQ(executable_schemes(group, node, small_model(), {}),
            (std::vector<CommScheme>{CommScheme::needed_kv, CommScheme::all_gather, CommScheme::all_to_all}));
  EXPECT_EQ(executable_schemes(group, node, small_model(), {false, false, false}),
            std::vector<CommScheme>{CommScheme::needed_kv});
  EXPECT_EQ(executable_schemes(group, Cluster{2, 2}, small_model(), {false, false}),
            (std::vector<CommScheme>{CommScheme::needed_kv, CommScheme::hybrid}));
}

TEST(SchemeChoice, CreatesACommunicatorOnlyWhenItPaysAndReusesIt) {
  // Three ranks: no start-up node communicator (3 does not split 8 heads), so a collective over
  // the group needs one created.
  const Cluster cluster{1, 3};
  ASSERT_TRUE(flexcp_standing_communicators({cluster, small_model(), {}}).empty());
  auto hw = slow_p2p(1e12);
  const Batch batch{{40000}};
  // Communicator creation dearer than the whole step: needed-KV, which needs none.
  hw.communicator_create_s = 1e3;
  PlannerContext context{{cluster, small_model(), hw}, 1 << 20};
  auto plan = make_flexcp_planner(context)->plan(batch);
  ASSERT_EQ(plan.micro_batches.front().groups.size(), 1u);
  EXPECT_EQ(plan.micro_batches.front().groups.front().comm, CommScheme::needed_kv);
  // Free creation: a collective, the same one again on the next batch.
  hw.communicator_create_s = 0.0;
  context.cost.hardware = hw;
  auto planner = make_flexcp_planner(context);
  plan = planner->plan(batch);
  const auto first = plan.micro_batches.front().groups.front().comm;
  EXPECT_NE(first, CommScheme::needed_kv);
  plan = planner->plan(batch);
  EXPECT_EQ(plan.micro_batches.front().groups.front().comm, first);
  // A whole node of four has its communicator from start-up: a collective however dear creating is.
  hw.communicator_create_s = 1e3;
  context.cost = {{1, 4}, small_model(), hw};
  plan = make_flexcp_planner(context)->plan(batch);
  ASSERT_EQ(plan.micro_batches.front().groups.front().ranks.size(), 4u);
  EXPECT_NE(plan.micro_batches.front().groups.front().comm, CommScheme::needed_kv);
}

// The hybrid's blocks over whole nodes are flexcp's start-up node communicators: even when
// creating one costs more than any step, a group spanning nodes keeps the hybrid, and the plan
// needs no creation round, batch after batch (at 4,096 GPUs they were a round in every batch).
TEST(SchemeChoice, HybridOverWholeNodesUsesTheStartUpNodeCommunicators) {
  const Cluster cluster{4, 4};
  auto hw = test_hardware(1e12);
  hw.inter_bandwidth = 1e9;
  hw.communicator_create_s = 1e3;
  const PlannerContext context{{cluster, small_model(), hw}, 1 << 20};
  EXPECT_EQ(node_block_sizes(cluster, small_model()), (std::vector<int>{2, 4}));
  CommunicatorAccounting accounting(rank_sets_of(flexcp_standing_communicators(context.cost)), 1);
  auto planner = make_flexcp_planner(context);
  for (std::int64_t length : {200000, 160000, 240000}) {
    const auto plan = planner->plan(Batch{{length}});
    const auto& group = plan.micro_batches.front().groups.front();
    ASSERT_EQ(group.comm, CommScheme::hybrid) << to_string(group.comm) << " over " << group.ranks.size() << " ranks";
    EXPECT_EQ(group.inner, 4);
    EXPECT_EQ(accounting.charge(plan).rounds, 0) << "document of " << length << " tokens";
  }
}

