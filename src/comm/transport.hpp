#pragma once
// Point-to-point data movement between ranks, the only way src/attn moves data. Non-blocking:
// post sends and receives, compute, then wait. The interface is what an MPI and an NCCL backend
// can both implement; it counts bytes sent and the time spent waiting.
#include <cstdint>

namespace flexcp::comm {

struct TransferStats {
  double bytes_sent = 0.0;
  double wait_seconds = 0.0;
  std::int64_t messages_sent = 0;
};

class Transport {
 public:
  struct Ticket {
    int slot = -1;
  };

  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // `data` must stay valid and unmodified until wait() on the ticket returns.
  virtual Ticket isend(const float* data, std::int64_t count, int peer, int tag) = 0;
  virtual Ticket irecv(float* data, std::int64_t count, int peer, int tag) = 0;
  // Blocks until the operation completes; the time is added to stats().wait_seconds.
  virtual void wait(Ticket& ticket) = 0;

  TransferStats& stats() { return stats_; }

 protected:
  TransferStats stats_;
};

}  // namespace flexcp::comm
