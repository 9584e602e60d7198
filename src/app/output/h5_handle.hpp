#pragma once
// Owning wrapper for HDF5 identifiers: closed exactly once with the right H5*close, and a
// failed HDF5 call becomes a flexcp::Error naming the call.
#include <hdf5.h>

#include <string>
#include <utility>

#include "common/error.hpp"

namespace flexcp {

class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer closer, const char* what) : id_(id), closer_(closer) {
    if (id_ < 0) throw Error(std::string("HDF5 call failed: ") + what);
  }
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  H5Handle& operator=(H5Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, -1);
      closer_ = other.closer_;
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;

  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline void h5_check(herr_t status, const char* what) {
  if (status < 0) throw Error(std::string("HDF5 call failed: ") + what);
}

}  // namespace flexcp
