#pragma once
// Memory owned by a value, in the memory space of the Kernels that allocated it (host memory for
// the Kokkos kernels, device memory for the CUDA ones). The storage is type-erased so executors
// hold buffers without knowing the backend; moves only, freed when the last owner goes.
#include <memory>
#include <utility>

#include "common/view.hpp"

namespace flexcp::attn {

class Buffer {
 public:
  Buffer() = default;
  // `storage` keeps `view.data` alive (a host allocation, a device::DeviceBuffer, ...).
  Buffer(View view, std::shared_ptr<void> storage) : view_(view), storage_(std::move(storage)) {}
  Buffer(Buffer&& other) noexcept : view_(std::exchange(other.view_, View{})), storage_(std::move(other.storage_)) {}
  Buffer& operator=(Buffer&& other) noexcept {
    view_ = std::exchange(other.view_, View{});
    storage_ = std::move(other.storage_);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const View& view() const { return view_; }
  std::int64_t count() const { return view_.count; }
  View slice(std::int64_t offset, std::int64_t elements) const { return view_.slice(offset, elements); }

 private:
  View view_;
  std::shared_ptr<void> storage_;
};

}  // namespace flexcp::attn
