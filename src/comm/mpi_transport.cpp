#include "comm/mpi_transport.hpp"

#include <climits>
#include <exception>

#include "comm/mpi_check.hpp"
#include "common/clock.hpp"

namespace flexcp::comm {
namespace {
int checked_count(std::int64_t count) {
  // One message carries at most INT_MAX floats (8 GiB); larger shards would need a derived type.
  FLEXCP_CHECK(count >= 0 && count <= INT_MAX, "message of " + std::to_string(count) + " floats exceeds MPI's int count");
  return static_cast<int>(count);
}
}  // namespace

MpiTransport::MpiTransport(MPI_Comm comm) : comm_(comm) {
  FLEXCP_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  FLEXCP_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

MpiTransport::~MpiTransport() {
  // Normally every ticket was waited on. While unwinding from an error, outstanding requests are
  // released rather than waited on: the peer may be gone, and waiting would hang this rank.
  for (auto& request : requests_)
    if (request != MPI_REQUEST_NULL) MPI_Request_free(&request);
}

Transport::Ticket MpiTransport::take_slot() {
  if (!free_slots_.empty()) {
    const int slot = free_slots_.back();
    free_slots_.pop_back();
    return {slot};
  }
  requests_.push_back(MPI_REQUEST_NULL);
  return {static_cast<int>(requests_.size()) - 1};
}

Transport::Ticket MpiTransport::isend(const float* data, std::int64_t count, int peer, int tag) {
  Ticket ticket = take_slot();
  FLEXCP_MPI_CHECK(MPI_Isend(data, checked_count(count), MPI_FLOAT, peer, tag, comm_,
                             &requests_[static_cast<std::size_t>(ticket.slot)]));
  stats_.bytes_sent += static_cast<double>(count) * sizeof(float);
  stats_.messages_sent += 1;
  return ticket;
}

Transport::Ticket MpiTransport::irecv(float* data, std::int64_t count, int peer, int tag) {
  Ticket ticket = take_slot();
  FLEXCP_MPI_CHECK(MPI_Irecv(data, checked_count(count), MPI_FLOAT, peer, tag, comm_,
                             &requests_[static_cast<std::size_t>(ticket.slot)]));
  return ticket;
}

void MpiTransport::wait(Ticket& ticket) {
  FLEXCP_CHECK(ticket.slot >= 0 && ticket.slot < static_cast<int>(requests_.size()), "wait on an unknown ticket");
  const WallTimer timer;
  MPI_Status status;
  FLEXCP_MPI_CHECK(MPI_Wait(&requests_[static_cast<std::size_t>(ticket.slot)], &status));
  stats_.wait_seconds += timer.seconds();
  free_slots_.push_back(ticket.slot);
  ticket.slot = -1;
}

}  // namespace flexcp::comm
