#include "device/inventory.hpp"

#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nccl.h>

#include "device/check.hpp"
#include "common/error.hpp"

namespace flexcp::device {
namespace {
std::string dotted(int major, int minor, int patch) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}
std::string cuda_version(int v) { return v <= 0 ? "none" : std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
}  // namespace

CudaInventory cuda_inventory() {
  CudaInventory inv;
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  inv.runtime_version = cuda_version(runtime);
  inv.driver_version = cuda_version(driver);
  int nccl = 0;
  ncclGetVersion(&nccl);  // major * 10000 + minor * 100 + patch since NCCL 2.9
  inv.nccl_version = dotted(nccl / 10000, nccl / 100 % 100, nccl % 100);
  const auto cudnn = cudnnGetVersion();  // major * 10000 + minor * 100 + patch since cuDNN 9
  inv.cudnn_version = dotted(static_cast<int>(cudnn / 10000), static_cast<int>(cudnn / 100 % 100), static_cast<int>(cudnn % 100));
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {  // no driver (this is the answer on machines without a GPU)
    inv.why_none = cudaGetErrorString(rc);
    cudaGetLastError();     // clear the sticky error for later calls
    return inv;
  }
  if (count == 0) inv.why_none = "no CUDA device visible";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    inv.devices.push_back({i, p.name, p.major, p.minor, static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0)});
  }
  return inv;
}

int select_device(int local_rank) {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess || count == 0)
    throw Error(std::string("backend \"cuda\": no CUDA device (") + (rc != cudaSuccess ? cudaGetErrorString(rc) : "count is 0") + ")");
  const int device = local_rank % count;
  FLEXCP_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

}  // namespace flexcp::device
