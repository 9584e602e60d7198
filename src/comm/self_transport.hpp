#pragma once
// The transport of a world of one rank, in a given memory space: an executor of a one-member
// group never posts a message, and one that tried would be told there is no peer (post() checks
// every peer). For running the executors on one device without NCCL (tests, one-rank tools).
#include "comm/transport.hpp"

namespace flexcp::comm {

class SelfTransport final : public Transport {
 public:
  explicit SelfTransport(MemorySpace space) : space_(space) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  MemorySpace space() const override { return space_; }

 protected:
  std::int64_t issue(const Stage& /*stage*/) override { throw Error("a one-rank world has no peer to send to"); }
  void complete(std::int64_t /*stage*/) override {}

 private:
  MemorySpace space_;
};

}  // namespace flexcp::comm
