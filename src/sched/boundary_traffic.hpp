#pragma once
// The boundary between the encoder and the LLM: forward, every projector output moves from the
// rank that computed it (the encoder's layout) to the rank whose LLM attention uses it (the LLM's
// layout); backward, its gradient moves the opposite way, the same amount. Both layouts are
// known to every rank, so the traffic is exact: tokens whose two ranks differ, times the LLM's
// width in bytes. Time: each rank sends and receives its bytes at the link rate of each peer
// (intra- or inter-node), one message per peer; the slowest rank sets the boundary's time.
#include <cstdint>
#include <vector>

#include "sched/cluster.hpp"
#include "sched/hardware.hpp"
#include "sched/token_layout.hpp"

namespace flexcp::sched {

struct BoundaryTraffic {
  std::vector<std::int64_t> sent_tokens;      // per rank, forward (the backward receives as many)
  std::vector<std::int64_t> received_tokens;  // per rank, forward
  std::vector<std::int64_t> inter_node_sent, inter_node_received;  // the part crossing nodes
  std::vector<int> peers;                     // distinct ranks each rank exchanges with
  std::int64_t moved_tokens = 0;              // tokens whose two ranks differ
  std::int64_t local_tokens = 0;              // tokens produced where they are used
  std::vector<int> ranks;                     // ranks that send or receive in this batch, ascending
};

// `cluster`: the whole machine (both layouts' ranks lie in it; node_of tells intra- from inter-node).
BoundaryTraffic boundary_traffic(const ImageTokenLayout& from, const ImageTokenLayout& to, const Cluster& cluster);

// The boundary's group: every rank of the placement (0 .. ranks-1: colocated, both components on
// every rank; non-colocated, the encoder's ranks and the LLM's) when any image token crosses
// ranks, else empty. Not just the ranks that exchange in this batch: that set changes from batch
// to batch wherever some rank holds no image (a small encoder's few ranks feeding many LLM
// ranks), and each new set would cost a communicator creation; the whole placement's set is the
// same in every batch, so a run makes it once. Members with nothing to exchange send nothing,
// and the time model charges each rank by its peers (boundary_time_s), so the larger group
// costs nothing more there.
std::vector<int> boundary_ranks(const ImageTokenLayout& from, const ImageTokenLayout& to, int ranks);

// One direction's time (forward or backward: the same bytes, mirrored) with `bytes_per_token`
// (LLM hidden x element bytes).
double boundary_time_s(const BoundaryTraffic& traffic, double bytes_per_token, const Cluster& cluster,
                       const HardwareProfile& hardware);

}  // namespace flexcp::sched
