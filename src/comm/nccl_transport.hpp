#pragma once
// Transport over NCCL on the world communicator: point-to-point between device buffers. NCCL
// has no tags and no per-operation requests, so operations are deferred: every isend/irecv
// posted since the last wait is issued in one ncclGroupStart/End batch when a ticket of that
// batch is first waited on (the executors post a stage's sends and receives, then wait: one
// batch per stage). Messages between two ranks match in posting order, which every executor
// keeps the same on both sides; the tag is checked only for consistency of use.
#include <vector>

#include "comm/nccl_communicator.hpp"
#include "comm/transport.hpp"

namespace flexcp::comm {

class NcclTransport final : public Transport {
 public:
  explicit NcclTransport(NcclCommunicator& world);

  int rank() const override { return world_.rank(); }
  int size() const override { return world_.size(); }
  // `data`: device memory.
  Ticket isend(const float* data, std::int64_t count, int peer, int tag) override;
  Ticket irecv(float* data, std::int64_t count, int peer, int tag) override;
  void wait(Ticket& ticket) override;

 private:
  struct Operation {
    bool send;
    float* data;
    std::int64_t count;
    int peer;
  };
  struct Batch {
    std::vector<Operation> operations;
    bool issued = false, done = false;
    cudaEvent_t event = nullptr;
  };
  Ticket post(Operation op);
  void issue(Batch& batch);

  NcclCommunicator& world_;
  std::vector<Batch> batches_;          // the last one collects new operations until issued
  std::vector<std::size_t> batch_of_;   // ticket slot -> batch index
};

}  // namespace flexcp::comm
