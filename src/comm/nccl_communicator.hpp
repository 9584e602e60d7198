#pragma once
// One NCCL communicator with its stream, owned: the world's (bootstrapped over MPI: rank 0 makes
// the unique id, MPI broadcasts it) or a group's (from ncclCommSplit). All of flexcp's NCCL
// waits go through wait(), which polls the event and the communicator's asynchronous error and
// aborts the communicator after `timeout_s`, so a dead or stuck peer ends in an error message
// naming what was awaited instead of a hang.
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <string>

namespace flexcp::comm {

class NcclCommunicator {
 public:
  // The world: collective over `world` (MPI); uses the current CUDA device.
  NcclCommunicator(MPI_Comm world, double timeout_s);
  // Takes ownership of a communicator made elsewhere (ncclCommSplit).
  NcclCommunicator(ncclComm_t comm, double timeout_s);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  ncclComm_t get() const { return comm_; }
  cudaStream_t stream() const { return stream_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  double timeout_s() const { return timeout_s_; }
  // Records an event on the stream after everything enqueued so far.
  cudaEvent_t record();
  // Waits for `event` (then destroys it); throws, after aborting the communicator, on an NCCL
  // asynchronous error or when `timeout_s` passes. Returns the seconds waited.
  double wait(cudaEvent_t event, const std::string& what);

 private:
  void init_stream();
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
  bool aborted_ = false;
};

}  // namespace flexcp::comm
