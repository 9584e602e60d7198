#include "comm/mpi_data_path.hpp"

#include "comm/in_order_transport.hpp"
#include "comm/mpi_group_factory.hpp"
#include "comm/mpi_transport.hpp"

namespace flexcp::comm {
namespace {
class MpiDataPath final : public DataPath {
 public:
  MpiDataPath(MpiWorld& world, bool in_order) : world_(world), in_order_(in_order) {
    if (in_order) transport_ = std::make_unique<InOrderTransport>(world.comm());
    else transport_ = std::make_unique<MpiTransport>(world.comm());
  }
  Transport& transport() override { return *transport_; }
  std::unique_ptr<GroupFactory> group_factory() override { return std::make_unique<MpiGroupFactory>(world_.comm()); }
  std::string description() const override {
    return in_order_ ? "MPI, in-order conformance transport (NCCL semantics)" : "MPI";
  }

 private:
  MpiWorld& world_;
  bool in_order_;
  std::unique_ptr<Transport> transport_;
};
}  // namespace

std::unique_ptr<DataPath> open_mpi_data_path(MpiWorld& world, bool in_order) {
  return std::make_unique<MpiDataPath>(world, in_order);
}

}  // namespace flexcp::comm
