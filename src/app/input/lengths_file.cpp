#include "app/input/lengths_file.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <string>

#include "app/input/regular_file.hpp"
#include "common/error.hpp"

namespace flexcp {

namespace {
// A line as it can be printed: a binary file's NUL and control bytes as \xNN (a message must not
// stop at a NUL or move the terminal's cursor), at most 40 characters.
std::string printable(const std::string& token) {
  std::string out;
  for (const unsigned char c : token) {
    if (out.size() >= 40) return out + "...";
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}
}  // namespace

std::vector<std::int64_t> read_lengths_file(const std::filesystem::path& path) {
  require_regular_file(path, "document-length file");
  std::ifstream in(path);
  if (!in) throw ConfigError("document-length file '" + path.string() + "' cannot be opened (missing or unreadable)");
  return parse_lengths(in, path.string());
}

std::vector<std::int64_t> parse_lengths(std::istream& in, const std::string& name) {
  std::vector<std::int64_t> lengths;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    const std::string token = line.substr(first, last - first + 1);
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || ptr != token.data() + token.size() || value < 1)
      throw ConfigError(name + ":" + std::to_string(number) + ": '" + printable(token) +
                        "' is not a document length (one positive integer per line, # for comments)");
    lengths.push_back(value);
  }
  if (lengths.empty()) throw ConfigError("document-length file '" + name + "' holds no lengths");
  return lengths;
}

}  // namespace flexcp
