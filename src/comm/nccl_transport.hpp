#pragma once
// Transport over NCCL on the world communicator: point-to-point between device buffers, with
// transport.hpp's stage semantics, which are NCCL's own. post() issues the stage at once, as
// one ncclGroupStart/End batch on the communicator's stream, ordered after everything already
// queued on the compute stream (an event): the sends read finished data and the receives write
// buffers the kernels are done with. So stage s+1 is in flight while stage s computes. wait()
// polls the stage's event with the communicator's timeout (an error or a stuck peer aborts it),
// then orders the compute stream after the stage.
#include <deque>
#include <string>

#include "comm/nccl_communicator.hpp"
#include "comm/transport.hpp"
#include "device/stream.hpp"

namespace flexcp::comm {

class NcclTransport final : public Transport {
 public:
  // `compute`: the stream the kernels run on (CudaKernels::stream()); both must outlive this.
  NcclTransport(NcclCommunicator& world, const device::Stream& compute);

  int rank() const override { return world_.rank(); }
  int size() const override { return world_.size(); }
  MemorySpace space() const override { return MemorySpace::device; }

 protected:
  std::int64_t issue(const Stage& stage) override;
  void complete(std::int64_t stage) override;

 private:
  struct Issued {
    std::int64_t sequence = 0;
    device::Event done{false};
    std::string what;
  };
  NcclCommunicator& world_;
  const device::Stream& compute_;
  device::Event ready_{false};  // recorded on the compute stream at each post
  std::int64_t next_sequence_ = 0;
  std::deque<Issued> in_flight_;
};

// NCCL's data type of a view's elements.
ncclDataType_t nccl_type(Element element);

}  // namespace flexcp::comm
