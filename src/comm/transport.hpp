#pragma once
// Point-to-point data movement between ranks in STAGES, the only way src/attn moves data
// between two ranks. The semantics are what NCCL gives (no tags, no per-message requests), so
// an executor correct over one transport is correct over all of them:
//
// 1. A stage is the sends and receives of one executor step. post() issues all of them at once
//    (a stage may send to and receive from the same peer); wait() returns when the whole stage
//    is complete. An empty stage is complete at once.
// 2. No tags. Between two ranks, messages match in posting order: the sends of rank A to B (in
//    the order of A's stages, and inside a stage in the order they were added) meet the
//    receives of B from A in the same order. A send and its receive have the same size.
// 3. Stages complete in post order (NCCL runs them one after another on one stream): waiting
//    on a stage also completes every stage posted before it. Hence the rule every executor
//    follows, which makes a cycle of waits impossible: the members of a group post the same
//    sequence of stages, and what a member sends in its k-th stage its peer receives in its
//    own k-th stage ("lockstep").
// 4. Buffers are views in the transport's memory space. A send's data must have been produced
//    before post() (device transports order the stage after the compute stream's work so far)
//    and stay unchanged until the stage completes; a receive buffer must not be read or
//    written until then. Views of one stage must not overlap.
//
// MpiTransport is the production CPU transport; InOrderTransport is the strict one the tests
// use (rendezvous sends, one stage in flight at a time, exact sizes, unchanged send buffers);
// NcclTransport moves device memory.
#include <cstdint>
#include <vector>

#include "common/view.hpp"

namespace flexcp::comm {

struct TransferStats {
  double bytes_sent = 0.0;
  double wait_seconds = 0.0;
  std::int64_t messages_sent = 0;
};

// The sends and receives of one stage, in the order they were added.
class Stage {
 public:
  struct Operation {
    bool send = false;
    View data;
    int peer = -1;
  };
  Stage& send(const View& data, int peer) {
    operations_.push_back({true, data, peer});
    return *this;
  }
  Stage& recv(const View& data, int peer) {
    operations_.push_back({false, data, peer});
    return *this;
  }
  bool empty() const { return operations_.empty(); }
  const std::vector<Operation>& operations() const { return operations_; }

 private:
  std::vector<Operation> operations_;
};

class Transport {
 public:
  struct Ticket {
    std::int64_t stage = -1;  // -1: nothing to wait for
  };

  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual MemorySpace space() const = 0;
  // Issues every operation of `stage` now (rule 1). Counts the bytes sent.
  Ticket post(const Stage& stage);
  // Blocks until the stage, and every stage posted before it, has completed (rules 1, 3); the
  // time is added to stats().wait_seconds. The ticket is spent afterwards.
  void wait(Ticket& ticket);

  TransferStats& stats() { return stats_; }

 protected:
  // `stage` is not empty and its views are checked; returns the stage's sequence number.
  virtual std::int64_t issue(const Stage& stage) = 0;
  // Completes every stage up to and including `stage`.
  virtual void complete(std::int64_t stage) = 0;

 private:
  TransferStats stats_;
};

}  // namespace flexcp::comm
