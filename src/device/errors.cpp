#include <string>

#include "device/check.hpp"
#include "common/error.hpp"

namespace flexcp::device {
namespace {
std::string where(const char* file, int line) {
  std::string path(file);
  const auto slash = path.find_last_of('/');
  return (slash == std::string::npos ? path : path.substr(slash + 1)) + ":" + std::to_string(line) + ": ";
}
}  // namespace

void throw_cuda_error(const char* call, cudaError_t code, const char* file, int line) {
  throw Error(where(file, line) + call + " failed: " + cudaGetErrorString(code));
}

void throw_device_error(const char* what, const char* file, int line) { throw Error(where(file, line) + what); }

}  // namespace flexcp::device
