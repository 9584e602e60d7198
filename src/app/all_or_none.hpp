#pragma once
// Runs a stage that may fail on some ranks only (reading the input, checking the output path,
// writing results) and makes every rank leave together: if any rank throws, every rank throws
// AgreedError carrying the lowest failing rank's message and the highest exit code.
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

#include "comm/world.hpp"
#include "common/error.hpp"

namespace flexcp {

class AgreedError : public std::runtime_error {
 public:
  AgreedError(const std::string& message, ExitCode code) : std::runtime_error(message), code_(code) {}
  ExitCode exit_code() const { return code_; }

 private:
  ExitCode code_;
};

template <class Work>
void all_or_none(comm::World& world, Work&& work) {
  std::optional<std::string> local;
  int code = 0;
  try {
    work();
  } catch (const Error& e) {
    local = e.what();
    code = static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    local = std::string("[rank ") + std::to_string(error_rank()) + "] " + e.what();
    code = static_cast<int>(ExitCode::failure);
  }
  auto agreed = world.agree_on_failure(local);
  code = world.max_over_ranks(code);
  if (agreed) throw AgreedError(*agreed, static_cast<ExitCode>(code));
}

}  // namespace flexcp
