#pragma once
// One NCCL communicator with its stream, owned: the world's (bootstrapped over MPI: rank 0 makes
// the unique id, MPI broadcasts it) or a group's (ncclCommSplit of the world). Every one is
// non-blocking, so nothing NCCL does can hang flexcp without a message:
// - initialisation and splits are polled to completion (ncclCommGetAsyncError) and aborted after
//   `timeout_s`;
// - after an operation returns ncclInProgress, settle() polls until NCCL has queued it on the
//   stream (only then may an event be recorded behind it);
// - wait() polls an event and the asynchronous error, and aborts the communicator with a message
//   naming what was awaited after `timeout_s`, or on an asynchronous error.
// The world is created with splitShare = 1 (a property of the PARENT's config: its children
// share its buffers and proxy threads, so per-batch groups are cheap). Destruction finalises and
// destroys normally, but aborts (never blocks on a peer) when the communicator failed or the
// destructor runs while an exception unwinds the stack. The stream outlives the communicator.
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <memory>
#include <string>

#include "device/stream.hpp"

namespace flexcp::comm {

class NcclCommunicator {
  struct Adopt {  // only split() can make a communicator of a handle NCCL gave it
    explicit Adopt() = default;
  };

 public:
  // The world: collective over `world` (MPI); uses the current CUDA device.
  NcclCommunicator(MPI_Comm world, double timeout_s);
  // A group of `parent`: collective over every rank of the parent. `color` < 0: this rank joins
  // no group and gets null. Members are ordered by `key`.
  static std::unique_ptr<NcclCommunicator> split(NcclCommunicator& parent, int color, int key);
  NcclCommunicator(Adopt, ncclComm_t comm, double timeout_s);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  ncclComm_t get() const { return comm_; }
  cudaStream_t stream() const { return stream_.get(); }
  int rank() const { return rank_; }
  int size() const { return size_; }
  double timeout_s() const { return timeout_s_; }
  // Polls until no operation of this communicator is in progress any more; `what` names it in errors.
  void settle(const std::string& what);
  // Blocks until `event` completes; throws, after aborting the communicator, on an NCCL
  // asynchronous error or when `timeout_s` passes. Returns the seconds waited.
  double wait(const device::Event& event, const std::string& what);

 private:
  [[noreturn]] void fail(const std::string& what);  // aborts, then throws
  void query_rank_and_size();

  device::Stream stream_;  // declared first: destroyed after the communicator
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
  bool broken_ = false;
};

}  // namespace flexcp::comm
