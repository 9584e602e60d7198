#pragma once
// Where the executors run, from run.backend: a Kernels and a DataPath of the same memory space.
// The executors are the same for both (attn/executor_choice.hpp):
//   cpu:  HostKernels (Kokkos, host memory) over MPI;
//   cuda: CudaKernels on this rank's device (local rank modulo the devices) over NCCL; a job of
//         one rank moves nothing, so it needs no NCCL communicator at all.
// Multi-rank CUDA runs compile and are wired end to end, but have not run on a multi-GPU
// machine yet: they are refused unless FLEXCP_ALLOW_UNTESTED_NCCL=1 says to try.
#include <memory>
#include <string>

#include "app/input/config.hpp"
#include "attn/kernels.hpp"
#include "comm/data_path.hpp"
#include "comm/mpi_world.hpp"

namespace flexcp {

inline constexpr const char* kAllowUntestedNcclVariable = "FLEXCP_ALLOW_UNTESTED_NCCL";

struct ExecutionBackend {
  std::unique_ptr<attn::Kernels> kernels;
  std::unique_ptr<comm::DataPath> data;  // declared after the kernels: NCCL waits on their stream, so it goes first
  std::string description() const;
};

// Rank 0's check of the input (throws ConfigError naming run.backend): the backend is built in,
// a device is visible, and a multi-rank CUDA run was asked for explicitly.
void check_backend_config(const Config& config, int world_size);

// Collective over the world: selects this rank's device (cuda) and opens the data path.
ExecutionBackend open_backend(const Config& config, comm::MpiWorld& world, const comm::Topology& topology);

// Collective over `part` (a communicator of some of the job's ranks, e.g. the LLM's ranks of a
// non-colocated multimodal run): a data path of the same kind as `backend`'s over those ranks
// (MPI for cpu; NCCL, or none at one rank, for cuda, ordered after the backend's kernels).
std::unique_ptr<comm::DataPath> open_data_path_over(const Config& config, comm::MpiWorld& part, ExecutionBackend& backend);

}  // namespace flexcp
