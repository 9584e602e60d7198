#pragma once
// The machine as the planner sees it: `nodes` nodes of `ranks_per_node` ranks each (any counts,
// 3, 6 or 12 per node included). Rank r lives on node r / ranks_per_node, the placement every
// MPI launcher uses by default (block mapping).
#include <cstdint>

namespace flexcp::sched {

struct Cluster {
  int nodes = 1;
  int ranks_per_node = 1;
  int ranks() const { return nodes * ranks_per_node; }
  int node_of(int rank) const { return rank / ranks_per_node; }
};

}  // namespace flexcp::sched
