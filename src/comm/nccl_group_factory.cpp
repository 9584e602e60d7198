#include "comm/nccl_group_factory.hpp"

#include "comm/nccl_check.hpp"
#include "comm/nccl_group_collectives.hpp"

namespace flexcp::comm {

std::unique_ptr<GroupCollectives> NcclGroupFactory::split(int color) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.splitShare = 1;  // share the world's buffers and proxy threads: groups are cheap to make
  ncclComm_t made = nullptr;
  FLEXCP_NCCL_CHECK(ncclCommSplit(world_.get(), color < 0 ? NCCL_SPLIT_NOCOLOR : color, world_.rank(), &made, &config));
  if (made == nullptr) return nullptr;
  return std::make_unique<NcclGroupCollectives>(std::make_unique<NcclCommunicator>(made, world_.timeout_s()));
}

}  // namespace flexcp::comm
