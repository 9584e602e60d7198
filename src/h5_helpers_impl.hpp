#pragma once
// Template part of h5_helpers.hpp.
#include <unistd.h>

#include <filesystem>

namespace flexcp::h5 {

template <class Write>
void write_atomically(const std::string& path, Write&& write) {
  const std::string temporary = path + ".tmp." + std::to_string(getpid());
  try {
    {
      H5Handle file(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, temporary.c_str());
      write(file.get());
      h5_check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush");
    }
    std::filesystem::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace flexcp::h5
