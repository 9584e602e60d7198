#include "app/output/h5_helpers.hpp"

namespace flexcp::h5 {
namespace {
// Attributes are created or replaced: a file appended step by step updates its status and
// summaries in place.
void remove_existing(hid_t object, const char* name) {
  if (H5Aexists(object, name) > 0) h5_check(H5Adelete(object, name), name);
}

template <class T>
void scalar(hid_t object, const char* name, T value, hid_t type) {
  remove_existing(object, name);
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  H5Handle attr(H5Acreate2(object, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, name);
  h5_check(H5Awrite(attr.get(), type, &value), name);
}

template <class T>
void write_dataset(hid_t group, const char* name, const std::vector<T>& values, const std::vector<hsize_t>& dims,
                   hid_t type, const char* units, const char* description) {
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, name);
  H5Handle set(H5Dcreate2(group, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, name);
  if (!values.empty()) h5_check(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), name);
  string_attribute(set.get(), "units", units);
  string_attribute(set.get(), "description", description);
}

H5Handle utf8_string_type() {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  h5_check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}
}  // namespace

void string_attribute(hid_t object, const char* name, const std::string& value) {
  remove_existing(object, name);
  const H5Handle type = utf8_string_type();
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  H5Handle attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, name);
  const char* text = value.c_str();
  h5_check(H5Awrite(attr.get(), type.get(), &text), name);
}

void int_attribute(hid_t object, const char* name, long long value) { scalar(object, name, value, H5T_NATIVE_LLONG); }
void double_attribute(hid_t object, const char* name, double value) { scalar(object, name, value, H5T_NATIVE_DOUBLE); }

H5Handle create_group(hid_t parent, const std::string& name) {
  return H5Handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, name.c_str());
}

void dataset(hid_t group, const char* name, const std::vector<double>& values, const std::vector<hsize_t>& dims,
             const char* units, const char* description) {
  write_dataset(group, name, values, dims, H5T_NATIVE_DOUBLE, units, description);
}

void string_dataset(hid_t group, const char* name, const std::vector<std::string>& values, const char* description) {
  std::vector<const char*> texts;
  texts.reserve(values.size());
  for (const auto& v : values) texts.push_back(v.c_str());
  const H5Handle type = utf8_string_type();
  write_dataset(group, name, texts, {static_cast<hsize_t>(values.size())}, type.get(), "", description);
}

void dataset(hid_t group, const char* name, const std::vector<long long>& values, const std::vector<hsize_t>& dims,
             const char* units, const char* description) {
  write_dataset(group, name, values, dims, H5T_NATIVE_LLONG, units, description);
}

}  // namespace flexcp::h5
