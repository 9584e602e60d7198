#pragma once
// Template part of h5_helpers.hpp.
#include "app/output/atomic_file.hpp"

namespace flexcp::h5 {

template <class Write>
void write_atomically(const std::string& path, Write&& write) {
  replace_file_atomically(path, [&](const std::string& temporary) {
    H5Handle file(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, temporary.c_str());
    write(file.get());
    h5_check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush");
  });
}

}  // namespace flexcp::h5
