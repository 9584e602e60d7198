#pragma once
// FLEXCP_CUDA_CHECK(call): a failing CUDA runtime call becomes a flexcp::Error naming the call,
// CUDA's error string, file:line and rank (NCCL's CUDACHECK, with context). Usable from .cu
// files: the exception is built in device/errors.cpp, so nvcc never parses common/error.hpp.
#include <cuda_runtime_api.h>

namespace flexcp::device {
[[noreturn]] void throw_cuda_error(const char* call, cudaError_t code, const char* file, int line);
[[noreturn]] void throw_device_error(const char* what, const char* file, int line);
}  // namespace flexcp::device

#define FLEXCP_CUDA_CHECK(call)                                                                 \
  do {                                                                                          \
    const cudaError_t flexcp_cuda_rc_ = (call);                                                 \
    if (flexcp_cuda_rc_ != cudaSuccess)                                                         \
      ::flexcp::device::throw_cuda_error(#call, flexcp_cuda_rc_, __FILE__, __LINE__);       \
  } while (0)

#define FLEXCP_DEVICE_REQUIRE(condition, what)                                                  \
  do {                                                                                          \
    if (!(condition)) ::flexcp::device::throw_device_error(what, __FILE__, __LINE__);       \
  } while (0)
