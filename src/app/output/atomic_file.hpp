#pragma once
// Writes a file so that readers never see it half-written: `write(temporary)` fills
// `<path>.tmp.<pid>`, which is then renamed over `path`; on any failure the temporary is removed
// and the error propagates. Results files (HDF5) and saved inputs (text) both go through it.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace flexcp {

template <class Write>
void replace_file_atomically(const std::string& path, Write&& write) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    write(temporary);
    std::filesystem::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace flexcp
