#pragma once
// Small HDF5 writing helpers shared by the results files of `flexcp run` and `flexcp plan`:
// every dataset gets `units` and `description` attributes; strings are variable-length UTF-8.
// Attribute writers create the attribute or replace its value.
#include <hdf5.h>

#include <string>
#include <vector>

#include "app/output/h5_handle.hpp"

namespace flexcp::h5 {

void string_attribute(hid_t object, const char* name, const std::string& value);
void int_attribute(hid_t object, const char* name, long long value);
void double_attribute(hid_t object, const char* name, double value);
H5Handle create_group(hid_t parent, const std::string& name);
void dataset(hid_t group, const char* name, const std::vector<double>& values, const std::vector<hsize_t>& dims,
             const char* units, const char* description);
void dataset(hid_t group, const char* name, const std::vector<long long>& values, const std::vector<hsize_t>& dims,
             const char* units, const char* description);
// A 1-D dataset of variable-length UTF-8 strings (units "": text has none). An attribute would
// do for a few strings but not for one per rank: attributes share the object header's 64 KiB.
void string_dataset(hid_t group, const char* name, const std::vector<std::string>& values, const char* description);

// Creates `path` through a temporary file beside it, renamed when `write` returns; the
// temporary is removed if `write` throws.
template <class Write>
void write_atomically(const std::string& path, Write&& write);

}  // namespace flexcp::h5

#include "app/output/h5_helpers_impl.hpp"
