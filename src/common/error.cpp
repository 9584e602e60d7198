#include "common/error.hpp"

#include <string_view>

namespace flexcp {
namespace {
int g_error_rank = -1;

std::string_view basename_of(const char* path) {
  std::string_view p(path);
  auto slash = p.find_last_of('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

std::string with_context(const std::string& message, const SourceLocation& where) {
  std::string out;
  if (g_error_rank >= 0) out += "[rank " + std::to_string(g_error_rank) + "] ";
  out += std::string(basename_of(where.file_name())) + ":" + std::to_string(where.line()) + ": ";
  return out + message;
}
}  // namespace

void set_error_rank(int rank) { g_error_rank = rank; }
int error_rank() { return g_error_rank; }

Error::Error(const std::string& message, SourceLocation where)
    : std::runtime_error(with_context(message, where)), message_(message) {}

}  // namespace flexcp
