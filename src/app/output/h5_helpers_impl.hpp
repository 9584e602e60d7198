#pragma once
// Template part of h5_helpers.hpp.
#include <vector>

#include "app/output/atomic_file.hpp"
#include "app/output/file_bytes.hpp"

namespace flexcp::h5 {

// The file is built in memory (HDF5's core driver, no backing store) and written with checked
// POSIX calls: HDF5 1.10 never touches the disk, so a full disk is an Error naming the file, not
// an H5Fflush failure that leaves a half-closed file behind for the library's exit handler to
// crash on (exit 139), and no HDF5 diagnostic stack is printed.
template <class Write>
void write_atomically(const std::string& path, Write&& write) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // failures become Errors naming the call, not a stack dump
  std::vector<char> image;
  {
    H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
    h5_check(H5Pset_fapl_core(fapl.get(), 1 << 20, 0), "H5Pset_fapl_core");
    H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose, path.c_str());
    write(file.get());
    h5_check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush");
    const auto size = H5Fget_file_image(file.get(), nullptr, 0);
    if (size < 0) throw Error("HDF5 call failed: H5Fget_file_image");
    image.resize(static_cast<std::size_t>(size));
    if (H5Fget_file_image(file.get(), image.data(), image.size()) != size) throw Error("HDF5 call failed: H5Fget_file_image");
  }
  replace_file_atomically(path, [&](const std::string& temporary) { write_file_bytes(temporary, image); });
}

}  // namespace flexcp::h5
