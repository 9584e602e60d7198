#pragma once
// Creates group communicators for the communicator cache: one collective call over the world
// makes every new group of a micro-batch at once (MPI_Comm_split, or ncclCommSplit for NCCL).
#include <memory>

#include "comm/group_collectives.hpp"

namespace flexcp::comm {

class GroupFactory {
 public:
  virtual ~GroupFactory() = default;
  // Collective over the world. `color`: the index of the new group this rank joins, or -1 for
  // none; members are ordered by world rank. Returns the group, or null when color is -1.
  virtual std::unique_ptr<GroupCollectives> split(int color) = 0;
};

}  // namespace flexcp::comm
