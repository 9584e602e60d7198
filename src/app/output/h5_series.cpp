#include "app/output/h5_series.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <string>

#include "app/output/h5_helpers.hpp"

namespace flexcp::h5 {
namespace {
// About 1 KiB of doubles per chunk (at least one row): a short run's file stays small (chunks
// are allocated whole), a long one's chunk index stays shallow (100,000 steps: ~800 chunks).
constexpr hsize_t kChunkElements = 128;
}  // namespace

Series::Series(hid_t group, const char* name, hid_t type, hsize_t width, const char* units, const char* description)
    : type_(type), width_(width) {
  const int rank = width == 0 ? 1 : 2;
  const hsize_t dims[2] = {0, width}, max[2] = {H5S_UNLIMITED, width};
  const hsize_t chunk[2] = {std::max<hsize_t>(1, kChunkElements / std::max<hsize_t>(1, width)), std::max<hsize_t>(1, width)};
  H5Handle space(H5Screate_simple(rank, dims, max), H5Sclose, name);
  H5Handle create(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "H5Pcreate");
  h5_check(H5Pset_chunk(create.get(), rank, chunk), name);
  // No chunk cache: a cached chunk is written whole at every flush (its 4 KiB for one new row);
  // uncached, a row goes straight to its place in the chunk.
  H5Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose, "H5Pcreate");
  h5_check(H5Pset_chunk_cache(access.get(), 0, 0, 1.0), name);
  set_ = H5Handle(H5Dcreate2(group, name, type, space.get(), H5P_DEFAULT, create.get(), access.get()), H5Dclose, name);
  string_attribute(set_.get(), "units", units);
  string_attribute(set_.get(), "description", description);
}

void Series::append(const std::vector<double>& values) { append_raw(values.data(), values.size(), H5T_NATIVE_DOUBLE); }
void Series::append(const std::vector<long long>& values) { append_raw(values.data(), values.size(), H5T_NATIVE_LLONG); }

void Series::append_raw(const void* data, std::size_t count, hid_t type) {
  const hsize_t per_row = std::max<hsize_t>(1, width_);
  if (H5Tequal(type, type_) <= 0 || count % per_row != 0)
    throw Error("results file: a row of the wrong type or width appended to a series");
  if (count == 0) return;
  const hsize_t added = count / per_row;
  const hsize_t dims[2] = {rows_ + added, width_}, start[2] = {rows_, 0}, block[2] = {added, width_};
  h5_check(H5Dset_extent(set_.get(), dims), "H5Dset_extent");
  H5Handle file_space(H5Dget_space(set_.get()), H5Sclose, "H5Dget_space");
  h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, block, nullptr), "H5Sselect_hyperslab");
  const hsize_t flat[1] = {count};
  H5Handle memory_space(H5Screate_simple(1, flat, nullptr), H5Sclose, "H5Screate_simple");
  h5_check(H5Dwrite(set_.get(), type, memory_space.get(), file_space.get(), H5P_DEFAULT, data), "H5Dwrite");
  rows_ += added;
}

void make_scale(hid_t scale, const char* name) { h5_check(H5DSset_scale(scale, name), "H5DSset_scale"); }

void attach_scale(hid_t set, hid_t scale, unsigned axis) {
  h5_check(H5DSattach_scale(set, scale, axis), "H5DSattach_scale");
}

}  // namespace flexcp::h5
