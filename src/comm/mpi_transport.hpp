#pragma once
// Transport over an MPI communicator (the world communicator for all point-to-point traffic:
// it needs no per-group communicator, so regrouping never waits on communicator creation).
// Host memory. Every operation is posted at once with one tag: MPI's non-overtaking order per
// (source, communicator) is exactly transport.hpp's matching rule.
#include <mpi.h>

#include <deque>
#include <vector>

#include "comm/transport.hpp"

namespace flexcp::comm {

class MpiTransport final : public Transport {
 public:
  explicit MpiTransport(MPI_Comm comm);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MemorySpace space() const override { return MemorySpace::host; }

 protected:
  std::int64_t issue(const Stage& stage) override;
  void complete(std::int64_t stage) override;

 private:
  struct Posted {
    std::int64_t sequence = 0;
    std::vector<MPI_Request> requests;
  };
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::int64_t next_sequence_ = 0;
  std::deque<Posted> in_flight_;  // in post order
};

// The MPI datatype and element count of a view (fp32 as MPI_FLOAT, bf16 as 16-bit integers).
struct MpiExtent {
  MPI_Datatype type;
  int count;
};
MpiExtent mpi_extent(const View& view);
// Posts one operation of a stage with the one tag of the stage transports; `synchronous` sends
// complete only when matched (MPI_Issend).
MPI_Request post_operation(const Stage::Operation& op, MPI_Comm comm, bool synchronous);

}  // namespace flexcp::comm
