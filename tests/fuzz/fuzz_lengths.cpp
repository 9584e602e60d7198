// libFuzzer target: any bytes as a document-length file (inputs/datasets/*.txt). Bad input must be
// refused as a ConfigError naming the line; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "app/input/lengths_file.hpp"
#include "common/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    for (const auto length : flexcp::parse_lengths(in, "fuzz.txt"))
      if (length < 1) __builtin_trap();  // the parser promises positive lengths
  } catch (const flexcp::ConfigError&) {
  }
  return 0;
}
