#include "app/input/interleaved_file.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"

namespace flexcp {

namespace {
bool positive(const std::string& text, std::int64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() && value >= 1;
}
}  // namespace

std::vector<sched::MultimodalSample> read_interleaved_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("interleaved dataset '" + path.string() + "' cannot be opened (missing or unreadable)");
  std::vector<sched::MultimodalSample> samples;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string kind, value;
    sched::MultimodalSample sample;
    int images = 0;
    auto where = [&] { return path.string() + ":" + std::to_string(number) + ": "; };
    while (words >> kind) {
      if (kind != "t" && kind != "i")
        throw ConfigError(where() + "'" + kind + "' is not an item: \"t N\" (text tokens) or \"i WxH\" (an image)");
      const bool has_value = static_cast<bool>(words >> value) && value != "t" && value != "i";
      if (kind == "t") {
        std::int64_t tokens = 0;
        if (!has_value || !positive(value, tokens))
          throw ConfigError(where() + "text run without a positive token count (expected \"t N\")");
        sample.segments.push_back({tokens, {}});
        continue;
      }
      ++images;
      const auto x = has_value ? value.find('x') : std::string::npos;
      std::int64_t w = 0, h = 0;
      if (x == std::string::npos || !positive(value.substr(0, x), w) || !positive(value.substr(x + 1), h))
        throw ConfigError(where() + "image " + std::to_string(images) + " has no size (expected \"i WxH\" in pixels, got \"" +
                          (has_value ? value : std::string("i")) + "\")");
      sample.segments.push_back({0, {w, h}});
    }
    if (!sample.segments.empty()) samples.push_back(std::move(sample));
  }
  if (samples.empty()) throw ConfigError("interleaved dataset '" + path.string() + "' holds no samples");
  return samples;
}

}  // namespace flexcp
