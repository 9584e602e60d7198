#pragma once
// GroupCollectives over an NCCL group communicator (from ncclCommSplit), device buffers. NCCL's
// all-gather and reduce-scatter need equal blocks, so: all-gather and all-to-all as grouped
// point-to-point; reduce-scatter as ncclReduceScatter over blocks padded to the largest (the
// padding is zero, staged on the device). Bytes are counted as the MPI backend counts them.
#include <memory>

#include "device/buffer.hpp"
#include "comm/group_collectives.hpp"
#include "comm/nccl_communicator.hpp"

namespace flexcp::comm {

class NcclGroupCollectives final : public GroupCollectives {
 public:
  explicit NcclGroupCollectives(std::unique_ptr<NcclCommunicator> comm);

  int size() const override { return comm_->size(); }
  int position() const override { return comm_->rank(); }
  Ticket start_allgatherv(const float* send, float* recv, const std::vector<std::int64_t>& counts) override;
  Ticket start_reduce_scatterv(const float* send, float* recv, const std::vector<std::int64_t>& counts) override;
  Ticket start_alltoallv(const float* send, const std::vector<std::int64_t>& send_counts, float* recv,
                         const std::vector<std::int64_t>& recv_counts) override;
  void wait(Ticket& ticket) override;

 private:
  Ticket finish_enqueue(const char* what);
  std::unique_ptr<NcclCommunicator> comm_;
  device::DeviceBuffer padded_send_, padded_recv_;
  std::vector<cudaEvent_t> events_;
  std::vector<std::string> whats_;
};

}  // namespace flexcp::comm
