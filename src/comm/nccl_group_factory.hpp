#pragma once
// Group communicators from ncclCommSplit of the NCCL world communicator, sharing its resources
// (splitShare), for the communicator cache.
#include "comm/group_factory.hpp"
#include "comm/nccl_communicator.hpp"

namespace flexcp::comm {

class NcclGroupFactory final : public GroupFactory {
 public:
  explicit NcclGroupFactory(NcclCommunicator& world) : world_(world) {}
  std::unique_ptr<GroupCollectives> split(int color) override;

 private:
  NcclCommunicator& world_;
};

}  // namespace flexcp::comm
