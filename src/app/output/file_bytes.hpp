#pragma once
// Writing files with POSIX calls whose every failure is checked: a full disk, a quota, a
// file-size limit or an I/O error becomes a flexcp::Error naming the file and the system's reason,
// never a crash. FLEXCP_FAIL_WRITES_AFTER_BYTES=N (a testing aid, docs/inputs.md) makes every
// write past byte N of a file fail with ENOSPC.
#include <cstdint>
#include <span>
#include <string>

namespace flexcp {

// Creates `path` (which must not exist: callers write a fresh temporary) with `bytes`; they are
// on the device (fsync) when it returns.
void write_file_bytes(const std::string& path, std::span<const char> bytes);

// Writes all of `bytes` at `offset` of the open file `fd`; `path` names it in errors.
void write_at(int fd, const std::string& path, std::span<const char> bytes, std::uint64_t offset);

// fsync: delayed allocation (and NFS) reports a full disk only here or at close.
void sync_file(int fd, const std::string& path);

}  // namespace flexcp
