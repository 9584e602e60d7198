#pragma once
// Wall-clock and per-thread CPU-time stopwatches, and the UTC timestamp results files carry.
// Thread CPU time is the "busy" time of a rank: it stays meaningful when more ranks than cores
// share a machine, where wall time does not.
#include <chrono>
#include <ctime>
#include <string>

namespace flexcp {

class WallTimer {
 public:
  WallTimer() : start_(std::chrono::steady_clock::now()) {}
  // From an instant the ranks agreed on (comm::SynchronizedStart).
  explicit WallTimer(std::chrono::steady_clock::time_point start) : start_(start) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

class ThreadCpuTimer {
 public:
  ThreadCpuTimer() : start_(thread_cpu_seconds()) {}
  double seconds() const { return thread_cpu_seconds() - start_; }

 private:
  double start_;
};

// Now, as ISO 8601 UTC ("2026-11-23T07:41:01Z").
inline std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace flexcp
