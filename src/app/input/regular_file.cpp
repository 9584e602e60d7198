#include "app/input/regular_file.hpp"

#include "common/error.hpp"

namespace flexcp {

std::string file_kind(std::filesystem::file_type type) {
  using std::filesystem::file_type;
  switch (type) {
    case file_type::regular: return "a regular file";
    case file_type::directory: return "a directory";
    case file_type::symlink: return "a symbolic link";
    case file_type::block: return "a block device";
    case file_type::character: return "a character device";
    case file_type::fifo: return "a FIFO (named pipe)";
    case file_type::socket: return "a socket";
    case file_type::not_found: return "missing";
    default: return "not a regular file";
  }
}

void require_regular_file(const std::filesystem::path& path, const std::string& what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw ConfigError(what + " '" + path.string() + "' does not exist");
  if (!std::filesystem::is_regular_file(status))
    throw ConfigError(what + " '" + path.string() + "' is " + file_kind(status.type()) + ", not a regular file");
}

}  // namespace flexcp
