#pragma once
// Device memory owned by a value: cudaMalloc on construction, cudaFree on destruction, moves
// only. Labelled like Kokkos views so errors and profiles say which buffer.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace flexcp::device {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::string label, std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  const std::string& label() const { return label_; }
  void upload(const void* host, std::size_t bytes);
  void download(void* host, std::size_t bytes) const;
  void zero();

  template <class T>
  static DeviceBuffer from(std::string label, const std::vector<T>& host) {
    DeviceBuffer b(std::move(label), host.size() * sizeof(T));
    if (!host.empty()) b.upload(host.data(), host.size() * sizeof(T));
    return b;
  }

 private:
  std::string label_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace flexcp::device
