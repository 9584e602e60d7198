#include "comm/nccl_data_path.hpp"

#include "comm/nccl_communicator.hpp"
#include "comm/nccl_group_factory.hpp"
#include "comm/nccl_transport.hpp"

namespace flexcp::comm {
namespace {
class NcclDataPath final : public DataPath {
 public:
  NcclDataPath(MpiWorld& world, const device::Stream& compute, double timeout_s)
      : world_(world.comm(), timeout_s), compute_(compute), transport_(world_, compute) {}
  Transport& transport() override { return transport_; }
  std::unique_ptr<GroupFactory> group_factory() override { return std::make_unique<NcclGroupFactory>(world_, compute_); }
  std::string description() const override { return "NCCL (world of " + std::to_string(world_.size()) + " ranks)"; }

 private:
  NcclCommunicator world_;  // destroyed last: the transport and every group refer to it
  const device::Stream& compute_;
  NcclTransport transport_;
};
}  // namespace

std::unique_ptr<DataPath> open_nccl_data_path(MpiWorld& world, const device::Stream& compute, double timeout_s) {
  return std::make_unique<NcclDataPath>(world, compute, timeout_s);
}

}  // namespace flexcp::comm
