#include "app/input/lengths_file.hpp"

#include <charconv>
#include <fstream>
#include <string>

#include "common/error.hpp"

namespace flexcp {

std::vector<std::int64_t> read_lengths_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("document-length file '" + path.string() + "' cannot be opened (missing or unreadable)");
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
      throw ConfigError(path.string() + ":" + std::to_string(number) + ": '" + token +
                        "' is not a document length (one positive integer per line, # for comments)");
    lengths.push_back(value);
  }
  if (lengths.empty()) throw ConfigError("document-length file '" + path.string() + "' holds no lengths");
  return lengths;
}

}  // namespace flexcp
