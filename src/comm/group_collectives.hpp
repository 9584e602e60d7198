#pragma once
// Collectives over one CP group, the other way src/attn moves data (point-to-point stages go
// through Transport on the world communicator). Each group has its own communicator, so its
// collectives are a separate channel: they never match, or wait behind, point-to-point stages.
// Non-blocking: start, compute, wait; collectives of one group complete in start order, and
// buffers follow transport.hpp's rule 4 (data produced before start, untouched until wait).
// Counts are fp32 elements, indexed by member position. MPI wraps a cached group communicator,
// NCCL an ncclCommSplit one.
//
// bytes_sent counts what a ring algorithm sends from this member (all-gather: every block but
// the next member's; reduce-scatter: every block but its own; all-to-all: every block but its
// own), the algorithm NCCL uses at these sizes and what the cost model charges, so measured and
// modelled bytes can be compared exactly whatever algorithm the MPI library picks inside.
#include <cstdint>
#include <vector>

#include "comm/transport.hpp"
#include "common/view.hpp"

namespace flexcp::comm {

class GroupCollectives {
 public:
  struct Ticket {
    int slot = -1;
  };
  virtual ~GroupCollectives() = default;
  virtual int size() const = 0;
  virtual int position() const = 0;
  virtual MemorySpace space() const = 0;
  // recv gets every member's block in member order; send is this member's block (counts[position]).
  Ticket start_allgatherv(const View& send, const View& recv, const std::vector<std::int64_t>& counts);
  // send holds one block per member in member order (counts); recv gets the sum of every member's
  // block `position`.
  Ticket start_reduce_scatterv(const View& send, const View& recv, const std::vector<std::int64_t>& counts);
  // send holds send_counts[j] elements for member j, in member order; recv gets recv_counts[j] from j.
  Ticket start_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts, const View& recv,
                         const std::vector<std::int64_t>& recv_counts);
  virtual void wait(Ticket& ticket) = 0;

  TransferStats& stats() { return stats_; }

 protected:
  // Views and counts are checked; `counts` has one entry per member.
  virtual Ticket do_allgatherv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) = 0;
  virtual Ticket do_reduce_scatterv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) = 0;
  virtual Ticket do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts, const View& recv,
                              const std::vector<std::int64_t>& recv_counts) = 0;
  TransferStats stats_;

 private:
  void check(const View& view, std::int64_t needed, const char* what) const;
  void check_counts(const std::vector<std::int64_t>& counts) const;
};

// Helpers the implementations share.
std::vector<std::int64_t> offsets_of(const std::vector<std::int64_t>& counts);
double total_of(const std::vector<std::int64_t>& counts);

}  // namespace flexcp::comm
