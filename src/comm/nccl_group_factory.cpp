#include "comm/nccl_group_factory.hpp"

#include "comm/nccl_group_collectives.hpp"

namespace flexcp::comm {

std::unique_ptr<GroupCollectives> NcclGroupFactory::split(int color) {
  auto group = NcclCommunicator::split(world_, color, world_.rank());
  if (group == nullptr) return nullptr;
  return std::make_unique<NcclGroupCollectives>(std::move(group), compute_);
}

}  // namespace flexcp::comm
