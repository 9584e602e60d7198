// flexcp's per-group scheme choice: over random batches and topologies the chosen scheme is one
// flexcp run executes, and no executable scheme models faster for the group; a communicator that
// would have to be created is paid for only where it makes the micro-batch faster.
#include <gtest/gtest.h>

#include <random>

#include "../random_batch.hpp"
#include "planner_fixtures.hpp"
#include "sched/planner.hpp"
#include "sched/scheme_choice.hpp"
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
  int chosen[5] = {0, 0, 0, 0, 0};
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
        const auto schemes = executable_schemes(group, context.cost.model, allowed);
        ASSERT_NE(std::find(schemes.begin(), schemes.end(), group.comm), schemes.end())
            << to_string(group.comm) << " is not executable for a group of " << group.ranks.size();
        chosen[static_cast<int>(group.comm)] += 1;
        // No communicator existed before this first plan and creation is free here: the
        // fastest scheme wins outright.
        const double mine = group_time_s(plan, group, context.cost);
        for (auto other : schemes) {
          auto copy = group;
          copy.comm = other;
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

TEST(SchemeChoice, NotExecutableSchemesAreNeverOffered) {
  CpGroup group{{0, 1, 2}, {{0, Sharding::split, 0}, {1, Sharding::whole, 1}}, CommScheme::needed_kv};
  // H_q 8, H_kv 4: three ranks cannot split the heads; a whole document rules out all-gather.
  EXPECT_EQ(executable_schemes(group, small_model(), {}), std::vector<CommScheme>{CommScheme::needed_kv});
  group.ranks = {0, 1, 2, 3};
  EXPECT_EQ(executable_schemes(group, small_model(), {}),
            (std::vector<CommScheme>{CommScheme::needed_kv, CommScheme::all_to_all}));
  group.docs.pop_back();
  EXPECT_EQ(executable_schemes(group, small_model(), {}),
            (std::vector<CommScheme>{CommScheme::needed_kv, CommScheme::all_gather, CommScheme::all_to_all}));
  EXPECT_EQ(executable_schemes(group, small_model(), {false, false}), std::vector<CommScheme>{CommScheme::needed_kv});
}

TEST(SchemeChoice, CreatesACommunicatorOnlyWhenItPaysAndReusesIt) {
  const Cluster cluster{1, 4};
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
}
