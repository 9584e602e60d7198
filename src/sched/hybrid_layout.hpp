#pragma once
// Where flexcp's hybrid scheme applies (CommScheme::hybrid): a group spanning nodes whose members
// fall into blocks of `inner` consecutive members, each block inside one node and its size a
// Ulysses head split (it divides H_q, and divides or is a multiple of H_kv). Inside a block the
// all-to-all turns tokens into heads over the fast links; across blocks only the KV of one head
// shard travels, so inter-node bytes shrink by the block size (or to one replicated KV head).
#include <cstdint>
#include <vector>

#include "sched/cluster.hpp"
#include "sched/model_shape.hpp"

namespace flexcp::sched {

// The block size the hybrid scheme uses for a group of these ranks (ascending): the largest one
// that qualifies, leaving at least two blocks; 0 when the group lies in one node or none does.
int hybrid_inner(const std::vector<std::int32_t>& ranks, const Cluster& cluster, const ModelShape& model);

// The same for a group of `size` ranks starting at a node's first rank (the planner's sizing).
int hybrid_inner(int size, const Cluster& cluster, const ModelShape& model);

}  // namespace flexcp::sched
