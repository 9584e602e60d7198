#pragma once
// The strict transport of the CPU test matrix: every executor must pass every MPI test over it
// as well as over MpiTransport. It holds a stage to NCCL's semantics and to transport.hpp's rules
// as tightly as MPI can express them, so what passes here does not hang or corrupt under NCCL:
// - no tags: one MPI tag for everything, so messages match in posting order alone;
// - one stage in flight at a time, completed in post order (NCCL runs a communicator's groups
//   one after another on its stream): a stage whose messages are matched only by a peer's LATER
//   stage waits forever, as under NCCL, and is reported after `timeout_s` instead of hanging;
// - rendezvous sends (MPI_Issend): a send completes only when its receive is posted, never from
//   a library buffer, so an executor cannot rely on buffering NCCL does not promise;
// - exact sizes: a receive that gets fewer (or more) elements than it posted is an error;
// - send buffers must not change until the stage completes (checked by hashing them).
#include <mpi.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "comm/transport.hpp"

namespace flexcp::comm {

class InOrderTransport final : public Transport {
 public:
  explicit InOrderTransport(MPI_Comm comm, double timeout_s = 120.0);
  ~InOrderTransport() override;
  InOrderTransport(const InOrderTransport&) = delete;
  InOrderTransport& operator=(const InOrderTransport&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MemorySpace space() const override { return MemorySpace::host; }

 protected:
  std::int64_t issue(const Stage& stage) override;
  void complete(std::int64_t stage) override;

 private:
  struct Pending {
    std::int64_t sequence = 0;
    std::vector<Stage::Operation> operations;
    std::vector<std::uint64_t> hashes;     // of each send's data when posted
    std::vector<MPI_Request> requests;    // empty until the stage starts
  };
  bool progress();  // starts the oldest stage, or completes it when done; true on a change
  void start(Pending& stage);
  void finish(const Pending& stage, std::vector<MPI_Status>& statuses, int rc) const;
  std::string describe(const Pending& stage) const;

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
  std::int64_t next_sequence_ = 0, completed_ = -1;
  std::deque<Pending> queue_;  // in post order; only the front one is ever in flight
};

}  // namespace flexcp::comm
