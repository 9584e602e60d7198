#include "comm/nccl_communicator.hpp"

#include <exception>
#include <thread>

#include "comm/mpi_check.hpp"
#include "comm/nccl_check.hpp"
#include "common/clock.hpp"
#include "device/check.hpp"

namespace flexcp::comm {
namespace {
// Polls `comm` until its state leaves ncclInProgress or `timeout_s` passes; returns the state
// (ncclInProgress on timeout).
ncclResult_t poll(ncclComm_t comm, double timeout_s) {
  const WallTimer waited;
  ncclResult_t state = ncclInProgress;
  while (true) {
    if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) return ncclInternalError;
    if (state != ncclInProgress || waited.seconds() > timeout_s) return state;
    std::this_thread::yield();
  }
}

ncclConfig_t non_blocking_config() {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every call returns at once; flexcp polls with a timeout instead of hanging
  return config;
}
}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm world, double timeout_s)
    : stream_("flexcp::nccl::world"), timeout_s_(timeout_s) {
  int rank = 0, size = 1;
  FLEXCP_MPI_CHECK(MPI_Comm_rank(world, &rank));
  FLEXCP_MPI_CHECK(MPI_Comm_size(world, &size));
  ncclUniqueId id{};
  if (rank == 0) FLEXCP_NCCL_CHECK(ncclGetUniqueId(&id));
  FLEXCP_MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, world));
  ncclConfig_t config = non_blocking_config();
  config.splitShare = 1;  // read from the parent by ncclCommSplit: groups share the world's resources
  FLEXCP_NCCL_CHECK(ncclCommInitRankConfig(&comm_, size, id, rank, &config));
  settle("initialisation of the world communicator");
  query_rank_and_size();
}

NcclCommunicator::NcclCommunicator(Adopt, ncclComm_t comm, double timeout_s)
    : stream_("flexcp::nccl::group"), comm_(comm), timeout_s_(timeout_s) {
  query_rank_and_size();
}

std::unique_ptr<NcclCommunicator> NcclCommunicator::split(NcclCommunicator& parent, int color, int key) {
  ncclConfig_t config = non_blocking_config();
  ncclComm_t made = nullptr;
  FLEXCP_NCCL_CHECK(ncclCommSplit(parent.get(), color < 0 ? NCCL_SPLIT_NOCOLOR : color, key, &made, &config));
  parent.settle("ncclCommSplit (parent side)");
  if (made == nullptr) return nullptr;
  // Adopted at once: a split that does not finish is aborted (settle), never left behind.
  return std::make_unique<NcclCommunicator>(Adopt{}, made, parent.timeout_s());
}

void NcclCommunicator::query_rank_and_size() {
  settle("a new communicator");
  FLEXCP_NCCL_CHECK(ncclCommUserRank(comm_, &rank_));
  FLEXCP_NCCL_CHECK(ncclCommCount(comm_, &size_));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ == nullptr) return;
  // Unwinding from an error, or already failed: a peer may be gone, and finalising would wait for it.
  if (broken_ || std::uncaught_exceptions() > 0) {
    ncclCommAbort(comm_);
    return;
  }
  const ncclResult_t finalised = ncclCommFinalize(comm_);
  if ((finalised != ncclSuccess && finalised != ncclInProgress) || poll(comm_, timeout_s_) != ncclSuccess) {
    ncclCommAbort(comm_);
    return;
  }
  ncclCommDestroy(comm_);
}

void NcclCommunicator::fail(const std::string& what) {
  broken_ = true;
  ncclCommAbort(comm_);
  comm_ = nullptr;
  throw Error("NCCL " + what + "; communicator aborted");
}

void NcclCommunicator::settle(const std::string& what) {
  const ncclResult_t state = poll(comm_, timeout_s_);
  if (state == ncclSuccess) return;
  if (state == ncclInProgress) fail(what + ": not finished within " + std::to_string(timeout_s_) + " s (a peer failed or stopped?)");
  fail(what + ": " + ncclGetErrorString(state) + " (" + ncclGetLastError(comm_) + ")");
}

double NcclCommunicator::wait(const device::Event& event, const std::string& what) {
  FLEXCP_CHECK(comm_ != nullptr, "wait on an aborted NCCL communicator");
  const WallTimer waited;
  while (true) {
    const cudaError_t done = cudaEventQuery(event.get());
    if (done == cudaSuccess) break;
    if (done != cudaErrorNotReady) FLEXCP_CUDA_CHECK(done);
    ncclResult_t async = ncclSuccess;
    FLEXCP_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
    if (async != ncclSuccess && async != ncclInProgress)
      fail(what + ": asynchronous error: " + ncclGetErrorString(async));
    if (waited.seconds() > timeout_s_)
      fail(what + ": no progress within " + std::to_string(timeout_s_) + " s (a peer failed or stopped?)");
    std::this_thread::yield();
  }
  return waited.seconds();
}

}  // namespace flexcp::comm
