#include "comm/self_data_path.hpp"

#include "comm/self_transport.hpp"

namespace flexcp::comm {
namespace {
class NoGroups final : public GroupFactory {
 public:
  std::unique_ptr<GroupCollectives> split(int color) override {
    FLEXCP_CHECK(color < 0, "a one-rank job has no group of two ranks to make a communicator for");
    return nullptr;
  }
};

class SelfDataPath final : public DataPath {
 public:
  explicit SelfDataPath(MemorySpace space) : transport_(space) {}
  Transport& transport() override { return transport_; }
  std::unique_ptr<GroupFactory> group_factory() override { return std::make_unique<NoGroups>(); }
  std::string description() const override { return "no communication (one rank)"; }

 private:
  SelfTransport transport_;
};
}  // namespace

std::unique_ptr<DataPath> open_self_data_path(MemorySpace space) { return std::make_unique<SelfDataPath>(space); }

}  // namespace flexcp::comm
