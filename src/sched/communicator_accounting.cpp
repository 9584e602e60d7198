#include "sched/communicator_accounting.hpp"

#include <algorithm>

namespace flexcp::sched {

std::vector<RankSet> communicator_sets(const CpGroup& group) {
  const int p = static_cast<int>(group.ranks.size());
  if (p < 2) return {};
  switch (group.comm) {
    case CommScheme::all_gather:
    case CommScheme::all_to_all: return {RankSet(group.ranks.begin(), group.ranks.end())};
    case CommScheme::hierarchical:
    case CommScheme::hybrid: {
      const int inner = std::max(1, group.inner);
      if (inner < 2) return {};
      std::vector<RankSet> blocks;
      for (int first = 0; first < p; first += inner)
        blocks.emplace_back(group.ranks.begin() + first, group.ranks.begin() + std::min(p, first + inner));
      return blocks;
    }
    case CommScheme::ring:
    case CommScheme::needed_kv: break;
  }
  return {};
}

CommunicatorAccounting::CommunicatorAccounting(std::vector<RankSet> precreated, std::size_t cache_capacity)
    : cache_capacity_(cache_capacity) {
  std::map<int, std::size_t> per_rank;
  for (auto& set : precreated) {
    for (int r : set) most_precreated_per_rank_ = std::max(most_precreated_per_rank_, ++per_rank[r]);
    precreated_.insert(std::move(set));
  }
}

CommunicatorCharge CommunicatorAccounting::charge(const Plan& plan) {
  CommunicatorCharge charge;
  for (const auto& mb : plan.micro_batches) {
    std::vector<RankSet> sets;
    for (const auto& group : mb.groups)
      for (auto& set : communicator_sets(group)) sets.push_back(std::move(set));
    const auto round = this->charge(std::move(sets));
    charge.rounds += round.rounds;
    charge.created += round.created;
  }
  return charge;
}

CommunicatorCharge CommunicatorAccounting::charge(std::vector<RankSet> sets) {
  CommunicatorCharge charge;
  int missing = 0;
  for (auto& set : sets) {
    if (precreated_.count(set)) continue;
    const auto [it, inserted] = cached_.try_emplace(std::move(set), 0);
    if (!inserted) by_use_.erase(it->second);
    it->second = ++clock_;
    by_use_.emplace(clock_, it->first);
    missing += inserted ? 1 : 0;
  }
  if (missing > 0) {
    charge.rounds = 1;
    charge.created = missing;
  }
  // Beyond capacity, the least recently used sets go (their communicators are freed).
  while (cached_.size() > cache_capacity_) {
    cached_.erase(by_use_.begin()->second);
    by_use_.erase(by_use_.begin());
  }
  return charge;
}

std::size_t CommunicatorAccounting::held_per_rank(bool creates_at_run_time) const {
  return most_precreated_per_rank_ + (creates_at_run_time ? cache_capacity_ : 0);
}

}  // namespace flexcp::sched
