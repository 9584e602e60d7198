#pragma once
// Which node each rank is on. Nodes come from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) (never
// from host names, which can repeat or lie in containers). FLEXCP_RANKS_PER_NODE=R instead
// groups ranks [0, R), [R, 2R), ... as emulated nodes, so node-aware logic is testable on one
// machine. Node indices follow the world rank of each node's first rank.
#include <mpi.h>

#include <string>
#include <vector>

namespace flexcp::comm {

inline constexpr const char* kRanksPerNodeVariable = "FLEXCP_RANKS_PER_NODE";

struct Topology {
  int world_size = 1;
  int world_rank = 0;
  int nodes = 1;
  int node = 0;          // this rank's node index
  int local_rank = 0;    // this rank's index on its node
  int local_size = 1;    // ranks on this rank's node
  int emulated_ranks_per_node = 0;  // 0: nodes discovered from shared memory
  std::vector<int> node_of_rank;
  std::vector<int> local_rank_of_rank;
  std::vector<std::string> host_of_rank;
};

// Collective over `world`. Throws ConfigError when FLEXCP_RANKS_PER_NODE is not a positive integer.
Topology discover_topology(MPI_Comm world);

// Parses a FLEXCP_RANKS_PER_NODE value: nullptr or "" -> 0 (not set); otherwise a positive int.
int parse_ranks_per_node(const char* value);

}  // namespace flexcp::comm
