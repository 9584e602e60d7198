#pragma once
// Collectives over one CP group, the other way src/attn moves data (point-to-point goes through
// Transport on the world communicator). Non-blocking: start, compute, wait. Counts are floats,
// indexed by member position. An MPI backend wraps a cached group communicator; an NCCL backend
// will wrap an ncclCommSplit communicator behind the same interface.
//
// bytes_sent counts what a ring algorithm sends from this member (all-gather: every block but
// the next member's; reduce-scatter: every block but its own; all-to-all: every block but its
// own), the algorithm NCCL uses at these sizes and what the cost model charges, so measured and
// modelled bytes can be compared exactly whatever algorithm the MPI library picks inside.
#include <cstdint>
#include <vector>

#include "comm/transport.hpp"

namespace flexcp::comm {

class GroupCollectives {
 public:
  struct Ticket {
    int slot = -1;
  };
  virtual ~GroupCollectives() = default;
  virtual int size() const = 0;
  virtual int position() const = 0;
  // recv gets every member's block in member order; send is this member's block (counts[position]).
  virtual Ticket start_allgatherv(const float* send, float* recv, const std::vector<std::int64_t>& counts) = 0;
  // send holds one block per member in member order (counts); recv gets the sum of every member's
  // block `position`.
  virtual Ticket start_reduce_scatterv(const float* send, float* recv, const std::vector<std::int64_t>& counts) = 0;
  // send holds send_counts[j] floats for member j, in member order; recv gets recv_counts[j] from j.
  virtual Ticket start_alltoallv(const float* send, const std::vector<std::int64_t>& send_counts, float* recv,
                                 const std::vector<std::int64_t>& recv_counts) = 0;
  virtual void wait(Ticket& ticket) = 0;

  TransferStats& stats() { return stats_; }

 protected:
  TransferStats stats_;
};

}  // namespace flexcp::comm
