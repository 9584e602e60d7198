// What every strategy is charged alike beside its plan's compute and traffic: the communicators
// it creates, and the headline ratio its results are reported with.
#include <gtest/gtest.h>

#include <cmath>

#include "sched/communicator_accounting.hpp"
#include "sched/standing_communicators.hpp"
#include "sched/throughput.hpp"

using namespace flexcp::sched;

TEST(Throughput, HeadlineIsSumOverSumNotTheMeanOfRatios) {
  // A strategy twice as fast on a cheap batch and even on an expensive one: the run is barely faster.
  const std::vector<double> baseline{1.0, 10.0}, strategy{0.5, 10.0};
  EXPECT_DOUBLE_EQ(throughput_ratio(baseline, strategy), 11.0 / 10.5);
  const auto ratios = per_batch_ratios(baseline, strategy);
  EXPECT_DOUBLE_EQ((ratios[0] + ratios[1]) / 2, 1.5);
  EXPECT_DOUBLE_EQ(throughput_ratio(baseline, strategy, {true, false}), 2.0);  // over the selected batches only
  EXPECT_TRUE(std::isnan(throughput_ratio(baseline, strategy, {false, false})));
  EXPECT_TRUE(std::isnan(throughput_ratio(baseline, {0.5, INFINITY})));  // a batch it cannot run
}

TEST(CommunicatorAccounting, OnlyCollectivesNeedTheirOwnCommunicator) {
  CpGroup ring{{0, 1, 2, 3}, {}, CommScheme::ring};
  EXPECT_TRUE(communicator_sets(ring).empty()) << "point-to-point on the world communicator";
  CpGroup a2a{{4, 5}, {}, CommScheme::all_to_all};
  EXPECT_EQ(communicator_sets(a2a), (std::vector<RankSet>{{4, 5}}));
  CpGroup hierarchical{{0, 1, 2, 3}, {}, CommScheme::hierarchical, 2};
  EXPECT_EQ(communicator_sets(hierarchical), (std::vector<RankSet>{{0, 1}, {2, 3}})) << "the all-to-all blocks";
}

// Start-up communicators come in layers of disjoint sets (one split each): aligned blocks per size.
TEST(StandingCommunicators, AlignedBlocksInDisjointLayers) {
  EXPECT_EQ(aligned_block_layers({1, 2, 4, 8}, 4),
            (CommunicatorLayers{{{0, 1}, {2, 3}}, {{0, 1, 2, 3}}}))
      << "no layer for size 1 or sizes beyond the machine";
  // flexcp's node blocks: sizes that divide the node and split LLaMA-3's heads (32 q, 8 kv).
  auto llama = ModelShape{};
  llama.q_heads = 32;
  llama.kv_heads = 8;
  EXPECT_EQ(node_block_sizes({2, 8}, llama), (std::vector<int>{2, 4, 8}));
  EXPECT_EQ(node_block_sizes({2, 6}, llama), (std::vector<int>{2})) << "3 and 6 do not split 32 heads";
  const auto layers = flexcp_standing_communicators({{2, 8}, llama, HardwareProfile{}});
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1], (std::vector<RankSet>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13, 14, 15}}));
  EXPECT_EQ(rank_sets_of(layers).size(), 8u + 4u + 2u);
}

TEST(CommunicatorAccounting, ChargesARoundPerMicroBatchWithMissingSets) {
  auto plan_of = [](std::vector<std::vector<RankSet>> micro_batches) {
    Plan plan;
    for (const auto& sets : micro_batches) {
      MicroBatch mb;
      for (const auto& set : sets) mb.groups.push_back({std::vector<std::int32_t>(set.begin(), set.end()), {}, CommScheme::all_to_all});
      plan.micro_batches.push_back(mb);
    }
    return plan;
  };
  CommunicatorAccounting accounting({{0, 1}}, 2);  // {0, 1} made at start-up; two cached at most
  auto charge = accounting.charge(plan_of({{{0, 1}, {2, 3}}, {{2, 3}}, {{0, 2}, {1, 3}}}));
  EXPECT_EQ(charge.rounds, 2);   // micro-batch 0 makes {2, 3}; micro-batch 2 makes {0, 2} and {1, 3} in one round
  EXPECT_EQ(charge.created, 3);
  charge = accounting.charge(plan_of({{{1, 3}}, {{2, 3}}}));  // {2, 3} was evicted (least recently used)
  EXPECT_EQ(charge.rounds, 1);
  EXPECT_EQ(charge.created, 1);
  EXPECT_EQ(accounting.held_per_rank(false), 1u);
  EXPECT_EQ(accounting.held_per_rank(true), 3u);
}
