// Every rank's timed region starts at one instant, after the last rank arrived, however late the
// ranks arrive (tests run on one machine, so the ranks share a clock).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "comm/synchronized_start.hpp"
#include "transports.hpp"

using namespace flexcp;

namespace {
double since_epoch_s(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
}  // namespace

TEST(SynchronizedStart, RanksOnOneMachineShareAClock) {
  ASSERT_FALSE(comm::kernel_boot_id().empty()) << "/proc/sys/kernel/random/boot_id unreadable";
  comm::SynchronizedStart start(test_support::world());
  EXPECT_TRUE(start.shared_clock());
  EXPECT_GT(start.margin_s(), 0.0);
}

TEST(SynchronizedStart, StaggeredRanksStartAtOneInstantAfterTheLastArrival) {
  auto& world = test_support::world();
  comm::SynchronizedStart start(world);
  ASSERT_TRUE(start.shared_clock());
  for (int round = 0; round < 3; ++round) {
    // Arrivals 15 ms apart, in a different order each round.
    const int position = (world.rank() + round) % world.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(15 * position));
    const double arrived = since_epoch_s(std::chrono::steady_clock::now());
    const auto at = start.start();
    const double returned = since_epoch_s(std::chrono::steady_clock::now());
    const double mine = since_epoch_s(at);
    EXPECT_EQ(world.max_over_ranks(mine), -world.max_over_ranks(-mine)) << "ranks started at different instants";
    EXPECT_GE(mine, world.max_over_ranks(arrived)) << "started before the last rank arrived";
    EXPECT_GE(returned, mine) << "returned before the agreed instant";
  }
}
