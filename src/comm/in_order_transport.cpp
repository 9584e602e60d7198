#include "comm/in_order_transport.hpp"

#include <chrono>
#include <string>
#include <thread>

#include "comm/mpi_check.hpp"
#include "comm/mpi_transport.hpp"
#include "common/clock.hpp"

namespace flexcp::comm {
namespace {
std::uint64_t hash_bytes(const View& view) {  // FNV-1a
  std::uint64_t h = 1469598103934665603ULL;
  const auto* p = static_cast<const unsigned char*>(view.data);
  for (std::size_t i = 0; i < view.bytes(); ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}
}  // namespace

InOrderTransport::InOrderTransport(MPI_Comm comm, double timeout_s) : comm_(comm), timeout_s_(timeout_s) {
  FLEXCP_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  FLEXCP_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

InOrderTransport::~InOrderTransport() {
  for (auto& stage : queue_)  // only while unwinding from an error: never wait on a peer that may be gone
    for (auto& request : stage.requests)
      if (request != MPI_REQUEST_NULL) MPI_Request_free(&request);
}

std::string InOrderTransport::describe(const Pending& stage) const {
  std::string text = "stage " + std::to_string(stage.sequence) + " of rank " + std::to_string(rank_) + " (";
  for (std::size_t i = 0; i < stage.operations.size(); ++i) {
    const auto& op = stage.operations[i];
    text += (i ? ", " : "") + std::string(op.send ? "send " : "receive ") + std::to_string(op.data.count) +
            (op.send ? " elements to rank " : " elements from rank ") + std::to_string(op.peer);
  }
  return text + ")";
}

std::int64_t InOrderTransport::issue(const Stage& stage) {
  Pending pending{next_sequence_++, stage.operations(), {}, {}};
  for (const auto& op : pending.operations) pending.hashes.push_back(op.send ? hash_bytes(op.data) : 0);
  const auto sequence = pending.sequence;
  queue_.push_back(std::move(pending));
  progress();
  return sequence;
}

void InOrderTransport::start(Pending& stage) {
  for (const auto& op : stage.operations) stage.requests.push_back(post_operation(op, comm_, true));
}

void InOrderTransport::finish(const Pending& stage, std::vector<MPI_Status>& statuses, int rc) const {
  for (std::size_t i = 0; i < stage.operations.size(); ++i) {
    const auto& op = stage.operations[i];
    if (rc == MPI_ERR_IN_STATUS && statuses[i].MPI_ERROR != MPI_SUCCESS)
      throw Error(describe(stage) + ": operation " + std::to_string(i) +
                  " failed: " + mpi_error_string(statuses[i].MPI_ERROR) +
                  " (a send larger than its receive: sizes must match, as NCCL requires)");
    if (op.send) {
      if (hash_bytes(op.data) != stage.hashes[i])
        throw Error(describe(stage) + ": the data of operation " + std::to_string(i) +
                    " changed before the stage completed (send buffers must stay unchanged until wait)");
      continue;
    }
    int received = 0;
    FLEXCP_MPI_CHECK(MPI_Get_count(&statuses[i], mpi_extent(op.data).type, &received));
    if (received != op.data.count)
      throw Error(describe(stage) + ": operation " + std::to_string(i) + " received " + std::to_string(received) +
                  " elements into a receive of " + std::to_string(op.data.count) +
                  " (sizes must match, as NCCL requires: the stages of the two ranks disagree)");
  }
  if (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS) throw Error(describe(stage) + ": " + mpi_error_string(rc));
}

bool InOrderTransport::progress() {
  if (queue_.empty()) return false;
  auto& front = queue_.front();
  if (front.requests.empty()) {
    start(front);
    return true;
  }
  int done = 0;
  std::vector<MPI_Status> statuses(front.requests.size());
  const int rc = MPI_Testall(static_cast<int>(front.requests.size()), front.requests.data(), &done, statuses.data());
  if (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS) throw Error(describe(front) + ": MPI_Testall failed: " + mpi_error_string(rc));
  if (!done && rc == MPI_SUCCESS) return false;
  finish(front, statuses, rc);
  completed_ = front.sequence;
  queue_.pop_front();
  if (!queue_.empty()) start(queue_.front());
  return true;
}

void InOrderTransport::complete(std::int64_t stage) {
  const WallTimer waiting;
  while (completed_ < stage) {
    if (progress()) continue;
    if (waiting.seconds() > timeout_s_)
      throw Error(describe(queue_.front()) + " did not complete within " + std::to_string(timeout_s_) +
                  " s: its messages are not matched by the peers' stages of the same place in the sequence "
                  "(under NCCL this hangs)");
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // leave the core to the ranks still computing
  }
}

}  // namespace flexcp::comm
