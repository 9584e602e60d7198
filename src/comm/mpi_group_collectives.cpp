#include "comm/mpi_group_collectives.hpp"

#include <climits>

#include "comm/mpi_check.hpp"
#include "common/clock.hpp"

namespace flexcp::comm {
namespace {
// MPI-3 counts and displacements are int: one collective moves at most INT_MAX floats per rank.
void to_ints(const std::vector<std::int64_t>& counts, std::vector<int>& out, std::vector<int>& displs) {
  out.clear();
  displs.clear();
  std::int64_t offset = 0;
  for (auto c : counts) {
    FLEXCP_CHECK(c >= 0 && offset + c <= INT_MAX, "collective of " + std::to_string(offset + c) +
                                                      " floats exceeds MPI's int counts");
    out.push_back(static_cast<int>(c));
    displs.push_back(static_cast<int>(offset));
    offset += c;
  }
}
}  // namespace

MpiGroupCollectives::MpiGroupCollectives(MPI_Comm owned) : comm_(owned) {
  FLEXCP_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  FLEXCP_MPI_CHECK(MPI_Comm_rank(comm_, &position_));
}

MpiGroupCollectives::~MpiGroupCollectives() {
  for (auto& p : pending_)  // only while unwinding from an error: never wait on a peer that may be gone
    if (p.request != MPI_REQUEST_NULL) MPI_Request_free(&p.request);
  MPI_Comm_free(&comm_);
}

GroupCollectives::Ticket MpiGroupCollectives::take_slot() {
  if (!free_slots_.empty()) {
    const int slot = free_slots_.back();
    free_slots_.pop_back();
    return {slot};
  }
  pending_.emplace_back();
  return {static_cast<int>(pending_.size()) - 1};
}

GroupCollectives::Ticket MpiGroupCollectives::do_allgatherv(const View& send, const View& recv,
                                                            const std::vector<std::int64_t>& counts) {
  auto ticket = take_slot();
  auto& p = pending_[static_cast<std::size_t>(ticket.slot)];
  to_ints(counts, p.counts, p.displs);
  FLEXCP_MPI_CHECK(MPI_Iallgatherv(send.data, p.counts[static_cast<std::size_t>(position_)], MPI_FLOAT, recv.data,
                                   p.counts.data(), p.displs.data(), MPI_FLOAT, comm_, &p.request));
  stats_.bytes_sent += (total_of(counts) - static_cast<double>(counts[static_cast<std::size_t>((position_ + 1) % size_)])) *
                       sizeof(float);
  return ticket;
}

GroupCollectives::Ticket MpiGroupCollectives::do_reduce_scatterv(const View& send, const View& recv,
                                                                 const std::vector<std::int64_t>& counts) {
  auto ticket = take_slot();
  auto& p = pending_[static_cast<std::size_t>(ticket.slot)];
  to_ints(counts, p.counts, p.displs);
  FLEXCP_MPI_CHECK(MPI_Ireduce_scatter(send.data, recv.data, p.counts.data(), MPI_FLOAT, MPI_SUM, comm_, &p.request));
  stats_.bytes_sent += (total_of(counts) - static_cast<double>(counts[static_cast<std::size_t>(position_)])) * sizeof(float);
  return ticket;
}

GroupCollectives::Ticket MpiGroupCollectives::do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts,
                                                           const View& recv,
                                                           const std::vector<std::int64_t>& recv_counts) {
  auto ticket = take_slot();
  auto& p = pending_[static_cast<std::size_t>(ticket.slot)];
  to_ints(send_counts, p.counts, p.displs);
  to_ints(recv_counts, p.counts2, p.displs2);
  FLEXCP_MPI_CHECK(MPI_Ialltoallv(send.data, p.counts.data(), p.displs.data(), MPI_FLOAT, recv.data, p.counts2.data(),
                                  p.displs2.data(), MPI_FLOAT, comm_, &p.request));
  stats_.bytes_sent +=
      (total_of(send_counts) - static_cast<double>(send_counts[static_cast<std::size_t>(position_)])) * sizeof(float);
  return ticket;
}

void MpiGroupCollectives::wait(Ticket& ticket) {
  FLEXCP_CHECK(ticket.slot >= 0 && ticket.slot < static_cast<int>(pending_.size()), "wait on an unknown ticket");
  const WallTimer timer;
  FLEXCP_MPI_CHECK(MPI_Wait(&pending_[static_cast<std::size_t>(ticket.slot)].request, MPI_STATUS_IGNORE));
  stats_.wait_seconds += timer.seconds();
  free_slots_.push_back(ticket.slot);
  ticket.slot = -1;
}

}  // namespace flexcp::comm
