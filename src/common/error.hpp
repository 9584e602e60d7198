#pragma once
// Errors with context. Every flexcp error carries the source location that raised it and, once
// MPI is up, the world rank, so a message from rank 5 of 4096 says so. The exit code is part of
// the type: configuration and usage problems exit 2, everything else 1.
#include <stdexcept>
#include <string>
#include <version>
#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace flexcp {

// Where an error was raised. std::source_location where the library has it; clang 14 with
// libstdc++ (the fuzz preset) lacks the builtin it needs, and gets the same from older builtins.
#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
struct SourceLocation {
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) {
    return SourceLocation{file, line};
  }
  constexpr const char* file_name() const { return file_; }
  constexpr unsigned line() const { return line_; }
  const char* file_;
  unsigned line_;
};
#endif

// stopped: cut short by SIGTERM or SIGINT (128 + SIGTERM, the shell's convention), results kept.
enum class ExitCode : int { success = 0, failure = 1, usage = 2, stopped = 143 };

// Rank shown in error messages; -1 until the MPI runtime sets it.
void set_error_rank(int rank);
int error_rank();

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message,
                 SourceLocation where = SourceLocation::current());
  // The message without the location prefix, for users.
  const std::string& message() const { return message_; }
  virtual ExitCode exit_code() const { return ExitCode::failure; }

 private:
  std::string message_;
};

// Bad input: unknown key, wrong type, missing file, impossible value. Exit code 2.
class ConfigError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::usage; }
};

}  // namespace flexcp

// Throws flexcp::Error with the caller's location when `condition` is false.
#define FLEXCP_CHECK(condition, message)                                 \
  do {                                                                   \
    if (!(condition)) throw ::flexcp::Error(std::string("check '" #condition "' failed: ") + (message)); \
  } while (0)
