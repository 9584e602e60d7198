#pragma once
// A dataset that grows along its first axis (H5S_UNLIMITED, chunked) by whole rows: one row per
// step for [S] and [S, R] series, any number of elements for flat lists. Appending writes only
// the new rows (and the chunk index), never the dataset again.
#include <hdf5.h>

#include <vector>

#include "app/output/h5_handle.hpp"

namespace flexcp::h5 {

class Series {
 public:
  // `width` 0: a 1-D dataset; otherwise rows of `width` elements. `type` is H5T_NATIVE_DOUBLE
  // or H5T_NATIVE_LLONG; every dataset gets `units` and `description`.
  Series(hid_t group, const char* name, hid_t type, hsize_t width, const char* units, const char* description);

  void append(const std::vector<double>& values);     // a whole number of rows
  void append(const std::vector<long long>& values);  // (integer counts stay integers)
  hid_t get() const { return set_.get(); }
  hsize_t rows() const { return rows_; }

 private:
  void append_raw(const void* data, std::size_t count, hid_t type);

  H5Handle set_;
  hid_t type_;
  hsize_t width_;
  hsize_t rows_ = 0;
};

// Dimension scales (H5DS): makes `scale` one, named `name`, and attaches it to axis `axis` of `set`.
void make_scale(hid_t scale, const char* name);
void attach_scale(hid_t set, hid_t scale, unsigned axis);

}  // namespace flexcp::h5
