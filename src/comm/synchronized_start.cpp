#include "comm/synchronized_start.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace flexcp::comm {
namespace {
double since_epoch_s(SynchronizedStart::Clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

SynchronizedStart::Clock::time_point at_epoch_s(double s) {
  return SynchronizedStart::Clock::time_point(
      std::chrono::duration_cast<SynchronizedStart::Clock::duration>(std::chrono::duration<double>(s)));
}

constexpr int kMeasuredRounds = 3;
// Room over the slowest measured round: an allreduce's time varies with what else the network
// and the machine are doing.
constexpr double kMarginFactor = 2.0;
constexpr double kMinimumMarginS = 1e-4;
}  // namespace

std::string kernel_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return in ? id : std::string();
}

SynchronizedStart::SynchronizedStart(World& world) : world_(world) {
  // A rank that cannot read its boot id hashes its rank instead, so it never matches another's.
  const auto id = kernel_boot_id();
  const auto key = id.empty() ? "rank " + std::to_string(world.rank()) : id;
  shared_clock_ = world.same_on_every_rank(static_cast<std::uint64_t>(std::hash<std::string>{}(key)));
  if (!shared_clock_) return;
  double slowest = 0.0;
  for (int round = 0; round < kMeasuredRounds; ++round) {
    const double last_arrival = world.max_over_ranks(since_epoch_s(Clock::now()));
    slowest = std::max(slowest, world.max_over_ranks(since_epoch_s(Clock::now()) - last_arrival));
  }
  margin_s_ = std::max(kMinimumMarginS, kMarginFactor * slowest);
}

SynchronizedStart::Clock::time_point SynchronizedStart::start() {
  if (!shared_clock_) {
    world_.barrier();
    return Clock::now();
  }
  // Every rank learns the last arrival within about one measured round of it, so the instant
  // `margin` later is still ahead of all of them (a rank delayed past it starts late, counted).
  const auto at = at_epoch_s(world_.max_over_ranks(since_epoch_s(Clock::now())) + margin_s_);
  std::this_thread::sleep_until(at);
  return at;
}

}  // namespace flexcp::comm
