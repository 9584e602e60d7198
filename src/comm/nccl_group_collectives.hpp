#pragma once
// GroupCollectives over an NCCL group communicator (from ncclCommSplit), device buffers. NCCL's
// all-gather and reduce-scatter need equal blocks, so: all-gather and all-to-all as grouped
// point-to-point; reduce-scatter as ncclReduceScatter over blocks padded to the largest (staged
// on the device; padding never reaches the result). Each collective is issued when started,
// ordered after the compute stream's work so far, settled, and awaited like a transport stage
// (nccl_transport.hpp). Bytes are counted as the MPI backend counts them.
#include <memory>
#include <string>
#include <vector>

#include "comm/group_collectives.hpp"
#include "comm/nccl_communicator.hpp"
#include "device/buffer.hpp"
#include "device/stream.hpp"

namespace flexcp::comm {

class NcclGroupCollectives final : public GroupCollectives {
 public:
  // `compute`: the kernels' stream; it must outlive this.
  NcclGroupCollectives(std::unique_ptr<NcclCommunicator> comm, const device::Stream& compute);

  int size() const override { return comm_->size(); }
  int position() const override { return comm_->rank(); }
  MemorySpace space() const override { return MemorySpace::device; }
  void wait(Ticket& ticket) override;

 protected:
  Ticket do_allgatherv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) override;
  Ticket do_reduce_scatterv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) override;
  Ticket do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts, const View& recv,
                      const std::vector<std::int64_t>& recv_counts) override;

 private:
  void begin();                      // order the communicator's stream after the compute stream
  Ticket finish(const char* what);  // settle, record the completion event

  std::unique_ptr<NcclCommunicator> comm_;
  const device::Stream& compute_;
  device::Event ready_{false};
  device::DeviceBuffer padded_send_, padded_recv_;
  std::vector<std::unique_ptr<device::Event>> pending_;  // by ticket slot; null once waited
  std::vector<std::string> whats_;
};

}  // namespace flexcp::comm
