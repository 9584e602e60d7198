#pragma once
// Node-aware allocation of rank blocks inside one micro-batch. A block that fits in a node is
// taken from one node, best fit (the node with the fewest free ranks that still has enough),
// so large holes stay for large blocks; a larger block takes whole free nodes first and the
// remainder from one more node.
#include <optional>
#include <set>
#include <vector>

#include "sched/cluster.hpp"
#include "sched/rank_set_history.hpp"

namespace flexcp::sched {

class FreeRanks {
 public:
  explicit FreeRanks(const Cluster& cluster);

  bool is_free(int rank) const { return free_[static_cast<std::size_t>(rank)]; }
  int free_count() const { return free_count_; }
  // A block of `size` free ranks (ascending), preferring a recent rank set from `history` when
  // all its ranks are free and it is node-aware; nothing when no node-aware block exists.
  std::optional<std::vector<int>> take(int size, const RankSetHistory& history);

 private:
  bool node_aware(const std::vector<int>& ranks) const;
  void claim(const std::vector<int>& ranks);
  std::vector<int> lowest_free_on(int node, int count) const;

  Cluster cluster_;
  std::vector<bool> free_;
  int free_count_ = 0;
  std::vector<int> free_on_node_;
  // Nodes by their free ranks (index f: nodes with f free, ascending): best fit and the lowest
  // whole free nodes without scanning every node per block (16,384-rank machines place
  // thousands of blocks per batch).
  std::vector<std::set<int>> nodes_with_free_;
};

}  // namespace flexcp::sched
