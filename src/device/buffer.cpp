#include "device/buffer.hpp"

#include <cuda_runtime_api.h>

#include "device/check.hpp"
#include "common/error.hpp"

namespace flexcp::device {

DeviceBuffer::DeviceBuffer(std::string label, std::size_t bytes) : label_(std::move(label)), bytes_(bytes) {
  if (bytes_ == 0) return;
  const cudaError_t rc = cudaMalloc(&data_, bytes_);
  if (rc != cudaSuccess)
    throw Error("cudaMalloc of " + std::to_string(bytes_) + " bytes for '" + label_ + "' failed: " + cudaGetErrorString(rc));
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) cudaFree(data_);  // no throw from a destructor; a failing free leaks at worst
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) cudaFree(data_);
    label_ = std::move(other.label_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes) {
  FLEXCP_CHECK(bytes <= bytes_, "upload of " + std::to_string(bytes) + " bytes into '" + label_ + "'");
  FLEXCP_CUDA_CHECK(cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::download(void* host, std::size_t bytes) const {
  FLEXCP_CHECK(bytes <= bytes_, "download of " + std::to_string(bytes) + " bytes from '" + label_ + "'");
  FLEXCP_CUDA_CHECK(cudaMemcpy(host, data_, bytes, cudaMemcpyDeviceToHost));
}

void DeviceBuffer::zero() {
  if (bytes_ > 0) FLEXCP_CUDA_CHECK(cudaMemset(data_, 0, bytes_));
}

}  // namespace flexcp::device
