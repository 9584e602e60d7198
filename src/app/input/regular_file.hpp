#pragma once
// Inputs and outputs are regular files. A FIFO given as a dataset blocks every rank in open();
// a device or directory is never what a user meant. Checked before opening, by type.
#include <filesystem>
#include <string>

namespace flexcp {

// "a directory", "a FIFO (named pipe)", "a character device", ...
std::string file_kind(std::filesystem::file_type type);

// Throws ConfigError "<what> '<path>' does not exist" or "... is a FIFO (named pipe), not a
// regular file" (symbolic links are followed).
void require_regular_file(const std::filesystem::path& path, const std::string& what);

}  // namespace flexcp
