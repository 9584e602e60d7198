#include "app/run/backend.hpp"

#include <cstdlib>
#include <string>

#include "attn/host_backend.hpp"
#include "comm/mpi_data_path.hpp"
#include "comm/self_data_path.hpp"
#include "common/error.hpp"
#ifdef FLEXCP_HAVE_CUDA
#include "attn/cuda/cuda_backend.hpp"
#include "comm/nccl_data_path.hpp"
#include "device/inventory.hpp"
#endif

namespace flexcp {
namespace {
// How long any NCCL initialisation, split or wait may take before its communicator is aborted.
constexpr double kNcclTimeoutS = 600.0;

bool untested_nccl_allowed() {
  const char* value = std::getenv(kAllowUntestedNcclVariable);
  return value != nullptr && std::string(value) == "1";
}
}  // namespace

std::string ExecutionBackend::description() const { return kernels->description() + " over " + data->description(); }

void check_backend_config(const Config& c, int world_size) {
  if (c.run.backend != "cuda") return;
#ifndef FLEXCP_HAVE_CUDA
  (void)world_size;
  throw ConfigError("key 'run.backend': \"cuda\" is not available: this flexcp was built without the CUDA toolkit "
                    "(configure where nvcc exists, with FLEXCP_CUDA=ON)");
#else
  const auto inventory = device::cuda_inventory();
  if (inventory.devices.empty())
    throw ConfigError("key 'run.backend': \"cuda\" needs a CUDA device, and none is visible (" + inventory.why_none + ")");
  if (world_size > 1 && !untested_nccl_allowed())
    throw ConfigError("key 'run.backend': \"cuda\" at " + std::to_string(world_size) +
                      " ranks runs the executors over NCCL, which is built but has not run on a multi-GPU machine "
                      "yet; run one rank, or set " + kAllowUntestedNcclVariable + "=1 to try it");
#endif
}

ExecutionBackend open_backend(const Config& c, comm::MpiWorld& world, const comm::Topology& topology) {
  ExecutionBackend backend;
  if (c.run.backend != "cuda") {
    backend.kernels = std::make_unique<attn::HostKernels>();
    backend.data = comm::open_mpi_data_path(world);
    return backend;
  }
#ifdef FLEXCP_HAVE_CUDA
  const auto devices = device::cuda_inventory().devices.size();
  if (world.size() > 1 && static_cast<std::size_t>(topology.local_size) > devices)
    throw ConfigError("key 'run.backend': \"cuda\" with " + std::to_string(topology.local_size) + " ranks on node " +
                      std::to_string(topology.node) + ", which has " + std::to_string(devices) +
                      " CUDA devices: NCCL needs a device of its own for every rank");
  device::select_device(topology.local_rank);
  auto kernels = std::make_unique<attn::cuda::CudaKernels>(c.run.precision == "bf16" ? Element::bf16 : Element::fp32);
  if (world.size() == 1) backend.data = comm::open_self_data_path(MemorySpace::device);
  else backend.data = comm::open_nccl_data_path(world, kernels->stream(), kNcclTimeoutS);
  backend.kernels = std::move(kernels);
  return backend;
#else
  (void)world;
  (void)topology;
  throw ConfigError("key 'run.backend': \"cuda\" is not available: this flexcp was built without the CUDA toolkit");
#endif
}

std::unique_ptr<comm::DataPath> open_data_path_over(const Config& c, comm::MpiWorld& part, ExecutionBackend& backend) {
  if (c.run.backend != "cuda") return comm::open_mpi_data_path(part);
#ifdef FLEXCP_HAVE_CUDA
  if (part.size() == 1) return comm::open_self_data_path(MemorySpace::device);
  auto* kernels = dynamic_cast<attn::cuda::CudaKernels*>(backend.kernels.get());
  FLEXCP_CHECK(kernels != nullptr, "a cuda run's kernels are not CudaKernels");
  return comm::open_nccl_data_path(part, kernels->stream(), kNcclTimeoutS);
#else
  (void)backend;
  throw ConfigError("key 'run.backend': \"cuda\" is not available: this flexcp was built without the CUDA toolkit");
#endif
}

}  // namespace flexcp
