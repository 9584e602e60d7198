#include "comm/nccl_communicator.hpp"

#include <thread>

#include "device/check.hpp"
#include "comm/mpi_check.hpp"
#include "comm/nccl_check.hpp"
#include "common/clock.hpp"

namespace flexcp::comm {

NcclCommunicator::NcclCommunicator(MPI_Comm world, double timeout_s) : timeout_s_(timeout_s) {
  int rank = 0, size = 1;
  FLEXCP_MPI_CHECK(MPI_Comm_rank(world, &rank));
  FLEXCP_MPI_CHECK(MPI_Comm_size(world, &size));
  ncclUniqueId id{};
  if (rank == 0) FLEXCP_NCCL_CHECK(ncclGetUniqueId(&id));
  FLEXCP_MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, world));
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // non-blocking init: a stuck peer shows up as a timeout, not a hang
  FLEXCP_NCCL_CHECK(ncclCommInitRankConfig(&comm_, size, id, rank, &config));
  const WallTimer waited;
  ncclResult_t state = ncclInProgress;
  while (state == ncclInProgress) {
    FLEXCP_NCCL_CHECK(ncclCommGetAsyncError(comm_, &state));
    if (state == ncclInProgress && waited.seconds() > timeout_s_) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
      throw Error("NCCL world communicator: initialisation did not finish within " + std::to_string(timeout_s_) + " s");
    }
    if (state == ncclInProgress) std::this_thread::yield();
  }
  FLEXCP_NCCL_CHECK(state);
  init_stream();
}

NcclCommunicator::NcclCommunicator(ncclComm_t comm, double timeout_s) : comm_(comm), timeout_s_(timeout_s) {
  init_stream();
}

void NcclCommunicator::init_stream() {
  FLEXCP_NCCL_CHECK(ncclCommUserRank(comm_, &rank_));
  FLEXCP_NCCL_CHECK(ncclCommCount(comm_, &size_));
  FLEXCP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

NcclCommunicator::~NcclCommunicator() {
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  if (comm_ == nullptr) return;
  if (aborted_) return;  // ncclCommAbort already released it
  ncclCommDestroy(comm_);
}

cudaEvent_t NcclCommunicator::record() {
  cudaEvent_t event = nullptr;
  FLEXCP_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  FLEXCP_CUDA_CHECK(cudaEventRecord(event, stream_));
  return event;
}

double NcclCommunicator::wait(cudaEvent_t event, const std::string& what) {
  const WallTimer waited;
  while (true) {
    const cudaError_t done = cudaEventQuery(event);
    if (done == cudaSuccess) break;
    if (done != cudaErrorNotReady) {
      cudaEventDestroy(event);
      FLEXCP_CUDA_CHECK(done);
    }
    ncclResult_t async = ncclSuccess;
    FLEXCP_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
    const bool late = waited.seconds() > timeout_s_;
    if ((async != ncclSuccess && async != ncclInProgress) || late) {
      cudaEventDestroy(event);
      ncclCommAbort(comm_);
      aborted_ = true;
      throw Error("NCCL " + what + ": " +
                  (late ? "no progress within " + std::to_string(timeout_s_) + " s (a peer failed or stopped?)"
                        : std::string("asynchronous error: ") + ncclGetErrorString(async)) +
                  "; communicator aborted");
    }
    std::this_thread::yield();
  }
  cudaEventDestroy(event);
  return waited.seconds();
}

}  // namespace flexcp::comm
