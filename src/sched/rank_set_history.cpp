#include "sched/rank_set_history.hpp"

#include <algorithm>

namespace flexcp::sched {

const std::deque<std::vector<int>>& RankSetHistory::recent(int size) const {
  static const std::deque<std::vector<int>> none;
  auto it = by_size_.find(size);
  return it == by_size_.end() ? none : it->second;
}

bool RankSetHistory::contains(const std::vector<int>& ranks) const {
  const auto& sets = recent(static_cast<int>(ranks.size()));
  return std::find(sets.begin(), sets.end(), ranks) != sets.end();
}

void RankSetHistory::record(const std::vector<int>& ranks) {
  auto& sets = by_size_[static_cast<int>(ranks.size())];
  if (auto it = std::find(sets.begin(), sets.end(), ranks); it != sets.end()) sets.erase(it);
  sets.push_front(ranks);
  if (sets.size() > per_size_) sets.pop_back();
}

}  // namespace flexcp::sched
