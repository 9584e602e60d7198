#include "app/output/file_bytes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/error.hpp"

namespace flexcp {
namespace {
[[noreturn]] void fail(const std::string& path, const char* what, int error) {
  throw Error("cannot write '" + path + "': " + what + ": " + std::strerror(error) +
              (error == ENOSPC || error == EDQUOT ? " (free space or raise the quota, or write elsewhere with --out)" : ""));
}

// Closes the descriptor on every path out, so a failed write leaks nothing.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// FLEXCP_FAIL_WRITES_AFTER_BYTES: the full-disk path is tested on machines where no small file
// system can be mounted.
std::uint64_t injected_capacity() {
  const char* value = std::getenv("FLEXCP_FAIL_WRITES_AFTER_BYTES");
  if (value == nullptr || *value == '\0') return static_cast<std::uint64_t>(-1);
  return std::strtoull(value, nullptr, 10);
}
}  // namespace

void write_at(int fd, const std::string& path, std::span<const char> bytes, std::uint64_t offset) {
  static const std::uint64_t capacity = injected_capacity();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::uint64_t at = offset + done;
    if (at >= capacity) fail(path, "write", ENOSPC);
    const std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size() - done, capacity - at));
    const auto n = ::pwrite(fd, bytes.data() + done, room, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "write", errno);
    done += static_cast<std::size_t>(n);
  }
}

void sync_file(int fd, const std::string& path) {
  if (::fsync(fd) != 0 && errno != EINVAL) fail(path, "fsync", errno);
}

void write_file_bytes(const std::string& path, std::span<const char> bytes) {
  Descriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (fd.get() < 0) fail(path, "open", errno);
  write_at(fd.get(), path, bytes, 0);
  sync_file(fd.get(), path);
  if (::close(fd.release()) != 0) fail(path, "close", errno);
}

}  // namespace flexcp
