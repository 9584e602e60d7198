// libFuzzer target: any bytes as an input file, through what rank 0 does with one (TOML parse,
// then building and validating the configuration for `flexcp run` and `flexcp plan`). Bad
// input must be refused as a ConfigError; anything else (a crash, a sanitizer report, another
// exception, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/input/config.hpp"
#include "common/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view("fuzz.toml"));
  } catch (const toml::parse_error&) {
    return 0;  // refused as invalid TOML (parse_toml_file turns this into a ConfigError)
  }
  try {
    // No included files (no input directory) and no dataset read: the parsing and validation only.
    flexcp::config_from_table(root, "fuzz.toml", "/nonexistent-flexcp-fuzz", false, 4);
  } catch (const flexcp::ConfigError&) {
  }
  return 0;
}
