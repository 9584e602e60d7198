#pragma once
// Progress lines on rank 0, to stderr (stdout keeps the tables and the greppable summary): so a
// long run under a batch system shows it is alive, how fast it goes and when it should end. One
// line per step, at most one a second except each strategy's first and last step; `--quiet`
// turns the lines off; `--verbose` prints every step with its plan and communicator cache.
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/clock.hpp"

namespace flexcp {

enum class Verbosity { quiet, normal, verbose };

class Progress {
 public:
  // `total_steps`: every step the run will execute, all strategies, warm-up included.
  // `unit` names what is counted: "step" (run) or "batch" (plan).
  Progress(std::FILE* out, Verbosity verbosity, std::int64_t total_steps, std::string unit = "step");

  // After a step: `step` of `steps_of_strategy` (0-based), its batch tokens, and on --verbose a
  // `detail` text. Prints the step's wall time (since the previous call), tokens/s, ETA, UTC time
  // (rate-limited as above).
  void step_done(const std::string& strategy, std::int64_t step, std::int64_t steps_of_strategy, bool warmup,
                 std::int64_t tokens, const std::string& detail);
  // A line of its own ("planning 20 batches ..."), unless quiet.
  void note(const std::string& text);

 private:
  std::FILE* out_;
  Verbosity verbosity_;
  std::int64_t total_, done_ = 0;
  std::string unit_;
  WallTimer run_timer_;
  double last_s_ = 0.0;       // when the previous step ended
  double last_line_s_ = 0.0;  // when the previous line was printed
  static constexpr double kMinLineInterval_s = 1.0;
};

// "1h02m03s", "4m05s", "12s"
std::string duration_text(double seconds);

}  // namespace flexcp
