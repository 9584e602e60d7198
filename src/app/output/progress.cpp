#include "app/output/progress.hpp"

#include <cmath>
#include <utility>

namespace flexcp {

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char text[48];
  if (s >= 3600) std::snprintf(text, sizeof text, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
  else if (s >= 60) std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%llds", s);
  return text;
}

Progress::Progress(std::FILE* out, Verbosity verbosity, std::int64_t total_steps, std::string unit)
    : out_(out), verbosity_(verbosity), total_(total_steps), unit_(std::move(unit)) {}

void Progress::note(const std::string& text) {
  if (verbosity_ == Verbosity::quiet || out_ == nullptr) return;
  std::fprintf(out_, "flexcp: progress: %s  %s\n", text.c_str(), utc_now_iso8601().c_str());
  std::fflush(out_);
}

void Progress::step_done(const std::string& strategy, std::int64_t step, std::int64_t steps_of_strategy, bool warmup,
                         std::int64_t tokens, const std::string& detail) {
  ++done_;
  const double now = run_timer_.seconds(), step_s = now - last_s_;
  last_s_ = now;
  if (verbosity_ == Verbosity::quiet || out_ == nullptr) return;
  // At most one line a second but the first and last step of each strategy (every step with
  // --verbose): steps of milliseconds would otherwise flood the job's log, and mpirun, busy
  // forwarding them, was seen to pass SIGTERM on to the ranks too late for a clean stop.
  const bool edge = step == 0 || step + 1 == steps_of_strategy;
  if (verbosity_ != Verbosity::verbose && !edge && now - last_line_s_ < kMinLineInterval_s) return;
  last_line_s_ = now;
  // ETA from the mean step so far: strategies differ, so it sharpens as the run goes on.
  const double eta = now / static_cast<double>(done_) * static_cast<double>(total_ - done_);
  std::fprintf(out_, "flexcp: progress: %s %s %lld/%lld%s  %.3f s  %.0f tokens/s  done %lld/%lld  ETA %s  %s%s%s\n",
               strategy.c_str(), unit_.c_str(), static_cast<long long>(step + 1), static_cast<long long>(steps_of_strategy),
               warmup ? " (warm-up)" : "", step_s, step_s > 0 ? static_cast<double>(tokens) / step_s : 0.0,
               static_cast<long long>(done_), static_cast<long long>(total_), duration_text(eta).c_str(),
               utc_now_iso8601().c_str(), verbosity_ == Verbosity::verbose && !detail.empty() ? "  " : "",
               verbosity_ == Verbosity::verbose ? detail.c_str() : "");
  std::fflush(out_);
}

}  // namespace flexcp
