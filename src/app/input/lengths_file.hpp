#pragma once
// Document-length files (inputs/datasets/*.txt): one positive integer per line; '#' starts a
// comment; blank lines are ignored. The header comments say where the lengths come from.
#include <cstdint>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace flexcp {

// Throws ConfigError naming the file and line of the first bad entry, or the missing file.
std::vector<std::int64_t> read_lengths_file(const std::filesystem::path& path);

// The same from a stream (the fuzz test's entry point); `name` stands for the file in errors.
std::vector<std::int64_t> parse_lengths(std::istream& in, const std::string& name);

}  // namespace flexcp
