#pragma once
// Transport over an MPI communicator (the world communicator for all point-to-point traffic:
// it needs no per-group communicator, so regrouping never waits on communicator creation).
#include <mpi.h>

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
  Ticket isend(const float* data, std::int64_t count, int peer, int tag) override;
  Ticket irecv(float* data, std::int64_t count, int peer, int tag) override;
  void wait(Ticket& ticket) override;

 private:
  Ticket take_slot();
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> requests_;
  std::vector<int> free_slots_;
};

}  // namespace flexcp::comm
