#include "comm/nccl_transport.hpp"

#include "comm/nccl_check.hpp"

namespace flexcp::comm {

NcclTransport::NcclTransport(NcclCommunicator& world) : world_(world) {}

Transport::Ticket NcclTransport::post(Operation op) {
  FLEXCP_CHECK(op.peer >= 0 && op.peer < size() && op.peer != rank(), "NCCL point-to-point with an invalid peer");
  if (batches_.empty() || batches_.back().issued) batches_.emplace_back();
  batches_.back().operations.push_back(op);
  batch_of_.push_back(batches_.size() - 1);
  return {static_cast<int>(batch_of_.size()) - 1};
}

Transport::Ticket NcclTransport::isend(const float* data, std::int64_t count, int peer, int /*tag*/) {
  stats_.bytes_sent += static_cast<double>(count) * sizeof(float);
  stats_.messages_sent += 1;
  return post({true, const_cast<float*>(data), count, peer});
}

Transport::Ticket NcclTransport::irecv(float* data, std::int64_t count, int peer, int /*tag*/) {
  return post({false, data, count, peer});
}

void NcclTransport::issue(Batch& batch) {
  FLEXCP_NCCL_CHECK(ncclGroupStart());
  for (const auto& op : batch.operations) {
    const auto n = static_cast<std::size_t>(op.count);
    if (op.send) FLEXCP_NCCL_CHECK(ncclSend(op.data, n, ncclFloat, op.peer, world_.get(), world_.stream()));
    else FLEXCP_NCCL_CHECK(ncclRecv(op.data, n, ncclFloat, op.peer, world_.get(), world_.stream()));
  }
  FLEXCP_NCCL_CHECK(ncclGroupEnd());
  batch.event = world_.record();
  batch.issued = true;
}

void NcclTransport::wait(Ticket& ticket) {
  FLEXCP_CHECK(ticket.slot >= 0 && ticket.slot < static_cast<int>(batch_of_.size()), "wait on an unknown ticket");
  auto& batch = batches_[batch_of_[static_cast<std::size_t>(ticket.slot)]];
  if (!batch.issued) issue(batch);
  if (!batch.done) {
    stats_.wait_seconds += world_.wait(batch.event, "point-to-point batch of " + std::to_string(batch.operations.size()) +
                                                        " operations");
    batch.done = true;
  }
  ticket.slot = -1;
  // Every ticket handed out so far is complete: start the bookkeeping afresh.
  bool all_done = true;
  for (const auto& b : batches_) all_done = all_done && b.done;
  if (all_done && !batches_.empty() && batches_.back().issued) {
    batches_.clear();
    batch_of_.clear();
  }
}

}  // namespace flexcp::comm
