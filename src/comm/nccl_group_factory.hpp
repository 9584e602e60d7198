#pragma once
// Group communicators from ncclCommSplit of the NCCL world communicator (sharing its resources:
// the world is made with splitShare), for the communicator cache; each orders its collectives
// after the kernels' compute stream.
#include "comm/group_factory.hpp"
#include "comm/nccl_communicator.hpp"
#include "device/stream.hpp"

namespace flexcp::comm {

class NcclGroupFactory final : public GroupFactory {
 public:
  // Both must outlive the factory and every group it makes.
  NcclGroupFactory(NcclCommunicator& world, const device::Stream& compute) : world_(world), compute_(compute) {}
  std::unique_ptr<GroupCollectives> split(int color) override;

 private:
  NcclCommunicator& world_;
  const device::Stream& compute_;
};

}  // namespace flexcp::comm
