#include "comm/communicator_cache.hpp"

#include <algorithm>
#include <tuple>

#include "comm/mpi_check.hpp"
#include "comm/mpi_group_factory.hpp"
#include "common/clock.hpp"

namespace flexcp::comm {

namespace {
int rank_in(MPI_Comm world) {
  int rank = 0;
  FLEXCP_MPI_CHECK(MPI_Comm_rank(world, &rank));
  return rank;
}
}  // namespace

CommunicatorCache::CommunicatorCache(MPI_Comm world, std::size_t capacity)
    : CommunicatorCache(rank_in(world), capacity, std::make_unique<MpiGroupFactory>(world)) {}

CommunicatorCache::CommunicatorCache(int rank, std::size_t capacity, std::unique_ptr<GroupFactory> factory)
    : rank_(rank), factory_(std::move(factory)), capacity_(capacity) {
  FLEXCP_CHECK(capacity_ >= 1, "the communicator cache needs a capacity of at least 1");
}

CommunicatorCache::~CommunicatorCache() {
  // Destroyed at the same point of the program on every rank; std::map order is the same
  // everywhere, so each communicator is freed by all of its members in the same order.
  entries_.clear();
}

void CommunicatorCache::prepare(const std::vector<std::vector<int>>& rank_sets) {
  ++clock_;
  std::vector<const std::vector<int>*> missing;
  for (const auto& set : rank_sets) {
    FLEXCP_CHECK(set.size() >= 2 && std::is_sorted(set.begin(), set.end()), "cached rank sets are ascending, >= 2 ranks");
    auto it = entries_.find(set);
    if (it != entries_.end()) {
      it->second.last_used = clock_;
      ++stats_.hits;
      continue;
    }
    missing.push_back(&set);
    ++stats_.misses;
  }
  if (!missing.empty()) {
    const WallTimer timer;
    create(missing, false);
    stats_.creation_s += timer.seconds();
  }
  evict_beyond_capacity(rank_sets);
  stats_.live = static_cast<std::int64_t>(entries_.size());
}

void CommunicatorCache::make_standing(const std::vector<std::vector<int>>& rank_sets) {
  std::vector<const std::vector<int>*> sets;
  for (const auto& set : rank_sets) {
    FLEXCP_CHECK(set.size() >= 2 && std::is_sorted(set.begin(), set.end()), "standing rank sets are ascending, >= 2 ranks");
    FLEXCP_CHECK(entries_.count(set) == 0, "a standing rank set is made once, before any prepare()");
    sets.push_back(&set);
  }
  if (sets.empty()) return;
  create(sets, true);
  standing_ += sets.size();
  stats_.live = static_cast<std::int64_t>(entries_.size());
}

void CommunicatorCache::create(const std::vector<const std::vector<int>*>& missing, bool standing) {
  // Checked over the whole list, which every rank holds alike: all ranks fail here together
  // rather than some of them waiting in the split.
  std::vector<int> all;
  for (const auto* set : missing) all.insert(all.end(), set->begin(), set->end());
  std::sort(all.begin(), all.end());
  FLEXCP_CHECK(std::adjacent_find(all.begin(), all.end()) == all.end(), "rank sets created by one split must be disjoint");
  int color = -1;
  for (std::size_t i = 0; i < missing.size(); ++i)
    if (std::binary_search(missing[i]->begin(), missing[i]->end(), rank_)) color = static_cast<int>(i);
  auto made = factory_->split(color);
  for (std::size_t i = 0; i < missing.size(); ++i) {
    Entry entry;
    entry.last_used = clock_;
    entry.standing = standing;
    if (static_cast<int>(i) == color) entry.comm = std::move(made);
    entries_.emplace(*missing[i], std::move(entry));
  }
}

void CommunicatorCache::evict_beyond_capacity(const std::vector<std::vector<int>>& keep) {
  while (entries_.size() - standing_ > capacity_) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.standing) continue;
      if (std::find(keep.begin(), keep.end(), it->first) != keep.end()) continue;  // in use now
      if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
    }
    if (victim == entries_.end()) return;  // everything cached is in use: exceed the capacity for now
    entries_.erase(victim);
    ++stats_.evictions;
  }
}

GroupCollectives& CommunicatorCache::get(const std::vector<int>& rank_set) {
  auto it = entries_.find(rank_set);
  FLEXCP_CHECK(it != entries_.end() && it->second.comm, "no cached communicator for this rank set on this rank");
  return *it->second.comm;
}

CacheStats CommunicatorCache::take_stats() {
  CacheStats out = stats_;
  stats_ = CacheStats{};
  stats_.live = out.live;
  return out;
}

}  // namespace flexcp::comm
