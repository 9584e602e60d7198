#include "comm/nccl_transport.hpp"

#include "comm/nccl_check.hpp"

namespace flexcp::comm {

ncclDataType_t nccl_type(Element element) { return element == Element::bf16 ? ncclBfloat16 : ncclFloat32; }

NcclTransport::NcclTransport(NcclCommunicator& world, const device::Stream& compute) : world_(world), compute_(compute) {}

std::int64_t NcclTransport::issue(const Stage& stage) {
  // The stage starts after the kernels queued so far: its data is produced, its buffers are free.
  ready_.record(compute_.get());
  ready_.make_wait(world_.stream());
  Issued issued;
  issued.sequence = next_sequence_++;
  issued.what = "point-to-point stage " + std::to_string(issued.sequence) + " (" + std::to_string(stage.operations().size()) +
                " operations)";
  FLEXCP_NCCL_CHECK(ncclGroupStart());
  for (const auto& op : stage.operations()) {
    const auto count = static_cast<std::size_t>(op.data.count);
    if (op.send)
      FLEXCP_NCCL_CHECK(ncclSend(op.data.data, count, nccl_type(op.data.element), op.peer, world_.get(), world_.stream()));
    else
      FLEXCP_NCCL_CHECK(ncclRecv(op.data.data, count, nccl_type(op.data.element), op.peer, world_.get(), world_.stream()));
  }
  FLEXCP_NCCL_CHECK(ncclGroupEnd());
  world_.settle(issued.what);  // queued on the stream only once settled: then the event goes behind it
  issued.done.record(world_.stream());
  in_flight_.push_back(std::move(issued));
  return in_flight_.back().sequence;
}

void NcclTransport::complete(std::int64_t stage) {
  while (!in_flight_.empty() && in_flight_.front().sequence <= stage) {
    auto& front = in_flight_.front();
    world_.wait(front.done, front.what);
    front.done.make_wait(compute_.get());  // kernels queued from now on read what arrived
    in_flight_.pop_front();
  }
}

}  // namespace flexcp::comm
