#pragma once
// Rank sets (groups of >= 2 ranks) used by recent plans. A communicator exists for each one in
// the executor's cache, so the planner prefers them when the cost is the same, and counts the
// rank sets a plan needs that are not there yet.
#include <deque>
#include <map>
#include <vector>

namespace flexcp::sched {

class RankSetHistory {
 public:
  explicit RankSetHistory(std::size_t per_size = 16) : per_size_(per_size) {}

  // Recent rank sets of `size` ranks, most recent first.
  const std::deque<std::vector<int>>& recent(int size) const;
  bool contains(const std::vector<int>& ranks) const;
  // Marks `ranks` as just used (most recent), evicting the oldest set of its size beyond capacity.
  void record(const std::vector<int>& ranks);

 private:
  std::size_t per_size_;
  std::map<int, std::deque<std::vector<int>>> by_size_;
};

}  // namespace flexcp::sched
