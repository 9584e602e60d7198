#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "comm/collectives.hpp"
#include "comm/topology.hpp"

using namespace flexcp;

TEST(Topology, NodesFollowTheEmulationOrSharedMemory) {
  const auto t = comm::discover_topology(MPI_COMM_WORLD);
  const int per_node = comm::parse_ranks_per_node(std::getenv(comm::kRanksPerNodeVariable));
  ASSERT_EQ(t.node_of_rank.size(), static_cast<std::size_t>(t.world_size));
  if (per_node > 0) {
    EXPECT_EQ(t.emulated_ranks_per_node, per_node);
    EXPECT_EQ(t.nodes, (t.world_size + per_node - 1) / per_node);
    for (int r = 0; r < t.world_size; ++r) {
      EXPECT_EQ(t.node_of_rank[r], r / per_node) << "rank " << r;
      EXPECT_EQ(t.local_rank_of_rank[r], r % per_node) << "rank " << r;
    }
    EXPECT_EQ(t.local_size, std::min(per_node, t.world_size - t.node * per_node));
  } else {
    // Shared memory: one node per host (ctest's mpi.real_nodes starts two fake hosts of
    // block-mapped ranks and says so in FLEXCP_TEST_EXPECTED_NODES), ranks in order.
    const char* expected = std::getenv("FLEXCP_TEST_EXPECTED_NODES");
    const int nodes = expected != nullptr ? std::atoi(expected) : 1;
    EXPECT_EQ(t.emulated_ranks_per_node, 0);
    ASSERT_EQ(t.nodes, nodes);
    const int block = t.world_size / nodes;
    for (int r = 0; r < t.world_size; ++r) {
      EXPECT_EQ(t.node_of_rank[r], r / block) << "rank " << r;
      EXPECT_EQ(t.local_rank_of_rank[r], r % block) << "rank " << r;
    }
  }
}

TEST(Collectives, EveryRankGetsTheLowestFailingRanksMessage) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_FALSE(comm::agree_on_failure(MPI_COMM_WORLD, std::nullopt));
  const int first_failing = size / 2;  // ranks >= size/2 fail
  std::optional<std::string> mine;
  if (rank >= first_failing) mine = "failure on rank " + std::to_string(rank);
  const auto agreed = comm::agree_on_failure(MPI_COMM_WORLD, mine);
  ASSERT_TRUE(agreed);
  EXPECT_EQ(*agreed, "failure on rank " + std::to_string(first_failing));
}

TEST(Collectives, GatherRowsReassemblesAPermutation) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::int64_t total = 3 * size + 1, width = 2;
  std::vector<std::int64_t> rows;
  std::vector<float> values;
  for (std::int64_t g = total - 1; g >= 0; --g)  // rank r holds rows with g % size == r, reversed
    if (g % size == rank) {
      rows.push_back(g);
      values.push_back(static_cast<float>(10 * g));
      values.push_back(static_cast<float>(10 * g + 1));
    }
  const auto global = comm::gather_rows_to_root(MPI_COMM_WORLD, values.data(), rows, width, total);
  if (rank == 0) {
    ASSERT_EQ(global.size(), static_cast<std::size_t>(total * width));
    for (std::int64_t g = 0; g < total; ++g) {
      EXPECT_EQ(global[g * width], 10 * g);
      EXPECT_EQ(global[g * width + 1], 10 * g + 1);
    }
  }
}
