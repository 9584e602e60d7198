// A batch dominated by one long document (an "extreme" batch): flexcp weighs Megatron-LM
// a2a+p2p's own layout of it (every document split over every rank, all-to-all inside nodes)
// with its cheaper needed-KV exchange, so under the cost model its plan is never slower than
// a2a+p2p over the whole machine, even where the batch has too many documents for the small-machine
// one-group comparison (documents x ranks > 65,536).
#include <gtest/gtest.h>

#include <random>

#include "planner_fixtures.hpp"
#include "sched/cost_model.hpp"
#include "sched/planner.hpp"
#include "sched/static_layout.hpp"

using namespace flexcp;
using namespace flexcp::sched;
using namespace flexcp::sched::fixtures;

TEST(DominantDocument, FlexcpIsNeverSlowerThanAllRankA2aP2p) {
  // 256 ranks in nodes of 8; H_q = H_kv = 8, so a2a+p2p's block and flexcp's hybrid block are the node.
  const Cluster cluster{32, 8};
  auto model = small_model();
  model.kv_heads = 8;
  const PlannerContext context{{cluster, model, test_hardware(1e12)}, 1 << 20};
  const StaticLayout a2a_p2p{StaticFamily::megatron, CommScheme::hierarchical, cluster.ranks(), cluster.ranks_per_node};
  ASSERT_EQ(layout_problem(context, a2a_p2p), "");
  std::mt19937_64 rng(1207);
  std::uniform_int_distribution<std::int64_t> short_doc(200, 4000), long_doc(300000, 600000);
  auto flexcp = make_flexcp_planner(context);
  auto baseline = make_static_planner(context, a2a_p2p);
  int all_rank_groups = 0;
  for (int trial = 0; trial < 4; ++trial) {
    Batch batch{{long_doc(rng)}};
    for (int d = 0; d < 300; ++d) batch.doc_lengths.push_back(short_doc(rng));  // 301 x 256 > 65,536
    const auto plan = flexcp->plan(batch);
    const double ours = evaluate_plan(plan, context.cost).step_time_s;
    const double theirs = evaluate_plan(baseline->plan(batch), context.cost).step_time_s;
    EXPECT_LE(ours, theirs * (1 + 1e-9)) << "trial " << trial;
    for (const auto& mb : plan.micro_batches)
      for (const auto& g : mb.groups)
        for (const auto& d : g.docs)
          if (d.doc == 0 && static_cast<int>(g.ranks.size()) == cluster.ranks()) all_rank_groups += 1;
  }
  // The long document ends over every rank (what the greedy's node-sized groups missed).
  EXPECT_GT(all_rank_groups, 0);
}
