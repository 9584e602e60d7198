#pragma once
// The CUDA devices this process sees, the versions of the CUDA runtime, driver, NCCL and cuDNN
// it was built and runs with, and device selection from the local rank (one GPU per rank, the
// rank's index on its node modulo the devices: no per-task GPU binding needed).
#include <string>
#include <vector>

namespace flexcp::device {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  double memory_gib = 0.0;
};

struct CudaInventory {
  std::vector<DeviceInfo> devices;  // empty where no device or no driver (a normal answer)
  std::string why_none;             // why `devices` is empty, from cudaGetDeviceCount
  std::string runtime_version, driver_version, nccl_version, cudnn_version;
};

CudaInventory cuda_inventory();
// Selects device local_rank % count; throws flexcp::Error naming the reason when none exists.
int select_device(int local_rank);

}  // namespace flexcp::device
