#pragma once
// Writing a whole file with POSIX calls whose every failure is checked: a full disk, a quota, a
// file-size limit or an I/O error becomes a flexcp::Error naming the file and the system's reason,
// never a crash. The bytes are on the device (fsync) when it returns.
#include <span>
#include <string>

namespace flexcp {

// Creates `path` (which must not exist: callers write a fresh temporary) with `bytes`.
void write_file_bytes(const std::string& path, std::span<const char> bytes);

}  // namespace flexcp
