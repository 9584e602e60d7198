// The strategy table is the one list of strategies: inputs accept exactly its names, the plan
// digest tells plans apart, and docs/inputs.md lists exactly its rows.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "app/strategies.hpp"
#include "sched/plan_digest.hpp"

using namespace flexcp;

TEST(StrategyTable, NamesAreUniqueAndEveryRowRunsOrPlans) {
  std::set<std::string> names;
  for (const auto& row : strategy_table()) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name << " listed twice";
    EXPECT_TRUE(row.runs || row.plans) << row.name;
    EXPECT_FALSE(row.summary.empty()) << row.name;
    if (row.runs) {
      EXPECT_NE(row.planner, PlannerKind::lower_bound) << row.name << ": a bound cannot be executed";
    }
  }
  EXPECT_EQ(find_strategy("megatron-cp"), nullptr) << "the ring baseline is called megatron-cp-ring everywhere";
}

TEST(StrategyTable, DocsListExactlyTheTable) {
  std::ifstream file(std::string(FLEXCP_SOURCE_DIR) + "/docs/inputs.md");
  ASSERT_TRUE(file) << "docs/inputs.md";
  std::stringstream text;
  text << file.rdbuf();
  const auto doc = text.str();
  const auto section = doc.find("## Strategies");
  ASSERT_NE(section, std::string::npos) << "docs/inputs.md has no Strategies section";
  std::istringstream lines(doc.substr(section));
  std::vector<std::string> listed;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    const auto name = line.substr(3, line.find('`', 3) - 3);
    listed.push_back(name);
    const auto* row = find_strategy(name);
    ASSERT_NE(row, nullptr) << "docs list unknown strategy " << name;
    EXPECT_NE(line.find(row->summary), std::string::npos) << "the docs describe " << name << " otherwise than the table";
    EXPECT_EQ(line.find("| run |") != std::string::npos, row->runs) << name;
    EXPECT_EQ(line.find("| plan |") != std::string::npos, row->plans) << name;
  }
  std::vector<std::string> table;
  for (const auto& row : strategy_table()) table.push_back(row.name);
  EXPECT_EQ(listed, table);
}

TEST(PlanDigest, TellsPlansApartThatRanksMustAgreeOn) {
  sched::Plan plan;
  plan.strategy = "x";
  plan.batch.doc_lengths = {10, 20};
  sched::CpGroup group{{0, 1}, {{0, sched::Sharding::split, 0}, {1, sched::Sharding::whole, 1}}, sched::CommScheme::ring};
  plan.micro_batches.push_back({{group}});
  const auto base = sched::plan_digest(plan);
  EXPECT_EQ(base, sched::plan_digest(plan));
  auto changed = plan;
  changed.micro_batches[0].groups[0].docs[1].owner = 0;
  EXPECT_NE(sched::plan_digest(changed), base) << "owner";
  changed = plan;
  changed.micro_batches[0].groups[0].comm = sched::CommScheme::needed_kv;
  EXPECT_NE(sched::plan_digest(changed), base) << "scheme";
  changed = plan;
  changed.micro_batches[0].groups[0].ranks = {0, 2};
  EXPECT_NE(sched::plan_digest(changed), base) << "ranks";
  changed = plan;
  changed.batch.doc_lengths[1] = 21;
  EXPECT_NE(sched::plan_digest(changed), base) << "batch";
}
