#include "comm/mpi_transport.hpp"

#include <climits>

#include "comm/mpi_check.hpp"

namespace flexcp::comm {
namespace {
constexpr int kTag = 0;  // one tag: matching is by posting order alone, as with NCCL
}

MpiExtent mpi_extent(const View& view) {
  // One message carries at most INT_MAX elements (8 GiB of fp32); larger would need a derived type.
  FLEXCP_CHECK(view.count >= 0 && view.count <= INT_MAX,
               "message of " + std::to_string(view.count) + " elements exceeds MPI's int count");
  return {view.element == Element::fp32 ? MPI_FLOAT : MPI_UINT16_T, static_cast<int>(view.count)};
}

MPI_Request post_operation(const Stage::Operation& op, MPI_Comm comm, bool synchronous) {
  const auto extent = mpi_extent(op.data);
  MPI_Request request = MPI_REQUEST_NULL;
  if (!op.send)
    FLEXCP_MPI_CHECK(MPI_Irecv(op.data.data, extent.count, extent.type, op.peer, kTag, comm, &request));
  else if (synchronous)
    FLEXCP_MPI_CHECK(MPI_Issend(op.data.data, extent.count, extent.type, op.peer, kTag, comm, &request));
  else
    FLEXCP_MPI_CHECK(MPI_Isend(op.data.data, extent.count, extent.type, op.peer, kTag, comm, &request));
  return request;
}

MpiTransport::MpiTransport(MPI_Comm comm) : comm_(comm) {
  FLEXCP_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  FLEXCP_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

MpiTransport::~MpiTransport() {
  // Normally every stage was waited on. While unwinding from an error, outstanding requests are
  // released rather than waited on: the peer may be gone, and waiting would hang this rank.
  for (auto& posted : in_flight_)
    for (auto& request : posted.requests)
      if (request != MPI_REQUEST_NULL) MPI_Request_free(&request);
}

std::int64_t MpiTransport::issue(const Stage& stage) {
  Posted posted{next_sequence_++, {}};
  for (const auto& op : stage.operations()) posted.requests.push_back(post_operation(op, comm_, false));
  in_flight_.push_back(std::move(posted));
  return in_flight_.back().sequence;
}

void MpiTransport::complete(std::int64_t stage) {
  while (!in_flight_.empty() && in_flight_.front().sequence <= stage) {
    auto& requests = in_flight_.front().requests;
    FLEXCP_MPI_CHECK(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
    in_flight_.pop_front();
  }
}

}  // namespace flexcp::comm
