#pragma once
// Starts a timed region (a step) on every rank at the same instant, as nearly as the machine
// allows. A barrier releases its ranks up to one message latency apart, and a rank released early
// counts the wait for the others as its own step time. On a real network that skew is
// microseconds; on the emulated cluster (scripts/emulated-cluster.sh), whose latency is dilated to
// seconds, it was one to two one-way delays: the first node's ranks measured every step 1.9-4.4 s
// longer than the second's (bench/RESULTS.md, "Where the demo's time went").
//
// When every rank runs under one kernel (the same boot id: the emulated cluster, or one machine),
// their steady clocks are one clock: the ranks agree on an instant shortly after the last of them
// arrives and wait for it, and every rank's step timer starts at that instant (a rank that arrives
// late still counts from it, so lateness is charged, never hidden). Elsewhere: a barrier.
#include <chrono>

#include "comm/world.hpp"

namespace flexcp::comm {

class SynchronizedStart {
 public:
  using Clock = std::chrono::steady_clock;

  // Collective: decides whether the ranks share a clock and, if so, measures how long the
  // agreement takes (an allreduce after the last rank's arrival, the slowest of a few rounds).
  explicit SynchronizedStart(World& world);

  // Collective: returns the instant this rank's timed region starts (not before it returns).
  Clock::time_point start();

  bool shared_clock() const { return shared_clock_; }
  // The wait after the last rank's arrival before the agreed instant (0 without a shared clock).
  double margin_s() const { return margin_s_; }

 private:
  World& world_;
  bool shared_clock_ = false;
  double margin_s_ = 0.0;
};

// The kernel's boot id (/proc/sys/kernel/random/boot_id), or "" where it cannot be read.
std::string kernel_boot_id();

}  // namespace flexcp::comm
