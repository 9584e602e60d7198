#pragma once
// Group communicators, cached by rank set across batches (creating one is a collective that
// costs milliseconds to seconds at scale, NCCL's ncclCommSplit even more).
//
// Every rank keeps the same bookkeeping for every rank set, member or not, so all ranks agree on
// hits, misses and evictions without talking: prepare() is called collectively over the world
// with the same list on every rank (the list comes from the plan, which every rank holds), creates
// all missing communicators of that list in ONE MPI_Comm_split, in list order, and evicts the
// least recently used sets beyond the capacity (ties by rank set), freeing in the same order on
// every member. Sets of one rank never need a communicator and are not cached. The group
// communicators come from a GroupFactory: MPI's by default, NCCL's for the GPU backend.
#include <mpi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "comm/group_collectives.hpp"
#include "comm/group_factory.hpp"

namespace flexcp::comm {

struct CacheStats {
  std::int64_t hits = 0, misses = 0, evictions = 0;
  double creation_s = 0.0;  // wall time inside communicator creation (this rank)
  std::int64_t live = 0;    // cached rank sets after the last prepare()
};

class CommunicatorCache {
 public:
  // MPI group communicators (MpiGroupFactory over `world`).
  CommunicatorCache(MPI_Comm world, std::size_t capacity);
  // Groups from `factory` (DataPath::group_factory()); `rank`: this rank in the world.
  CommunicatorCache(int rank, std::size_t capacity, std::unique_ptr<GroupFactory> factory);
  ~CommunicatorCache();
  CommunicatorCache(const CommunicatorCache&) = delete;
  CommunicatorCache& operator=(const CommunicatorCache&) = delete;

  // Collective over the world. `rank_sets`: ascending, disjoint rank sets (one micro-batch's
  // groups that need collectives). Afterwards get() works for each set this rank belongs to.
  void prepare(const std::vector<std::vector<int>>& rank_sets);
  // Collective over the world, before any prepare(): creates the strategy's start-up
  // communicators (ascending, disjoint rank sets; one split), kept until the cache is destroyed,
  // never evicted and not counted against the capacity. Their creation is not in the stats
  // (a start-up cost, not a step's); prepare() counts them as hits.
  void make_standing(const std::vector<std::vector<int>>& rank_sets);
  GroupCollectives& get(const std::vector<int>& rank_set);

  // Counts since the previous call (live: current).
  CacheStats take_stats();
  std::size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::uint64_t last_used = 0;
    bool standing = false;  // made by make_standing(): never evicted
    std::unique_ptr<GroupCollectives> comm;  // null where this rank is not a member
  };
  void evict_beyond_capacity(const std::vector<std::vector<int>>& keep);
  // Creates `missing` (disjoint) with one split; entries stamped now.
  void create(const std::vector<const std::vector<int>*>& missing, bool standing);

  int rank_ = 0;
  std::unique_ptr<GroupFactory> factory_;
  std::size_t capacity_;
  std::uint64_t clock_ = 0;
  std::map<std::vector<int>, Entry> entries_;
  std::size_t standing_ = 0;  // entries made by make_standing()
  CacheStats stats_;
};

}  // namespace flexcp::comm
