// Kernel rates by slice length (sched/attention_kernel.hpp): the measured points come back
// exactly, lengths between them are interpolated in log-length, the ends are held, a dip in the
// measurements does not make a longer slice slower, and malformed tables are refused by name.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "sched/attention_kernel.hpp"

using namespace flexcp;
using sched::SliceMask;

namespace {
sched::AttentionKernelRates::Series series() {
  return {.forward_causal = {4, 40, 160, 150},  // a dip at 1024
          .forward_full = {8, 80, 200, 300},
          .backward_causal = {6, 50, 100, 190},
          .backward_full = {10, 100, 180, 190}};
}
const std::vector<double> kLengths{16, 64, 256, 1024};
sched::AttentionKernelRates table() { return {"test", kLengths, series(), "h"}; }
}  // namespace

TEST(AttentionKernelRates, MeasuredPointsInterpolationAndEnds) {
  const auto k = table();
  EXPECT_DOUBLE_EQ(k.forward(SliceMask::full, 64), 80);
  EXPECT_DOUBLE_EQ(k.backward(SliceMask::causal, 256), 100);
  EXPECT_DOUBLE_EQ(k.forward(SliceMask::full, 32), 8 + 0.5 * (80 - 8));  // halfway in log2 between 16 and 64
  EXPECT_DOUBLE_EQ(k.forward(SliceMask::full, 1), 8);                    // shorter than measured: the first rate
  EXPECT_DOUBLE_EQ(k.forward(SliceMask::full, 1e6), 300);                // longer: the last
}

TEST(AttentionKernelRates, LongerSlicesAreNeverSlower) {
  const auto k = table();
  EXPECT_DOUBLE_EQ(k.forward(SliceMask::causal, 1024), 160) << "the dip is flattened to the best shorter rate";
  double previous = 0.0;
  for (double length = 1; length < 4096; length *= 1.1) {
    const double rate = k.forward(SliceMask::causal, length);
    EXPECT_GE(rate, previous) << "at length " << length;
    previous = rate;
  }
}

TEST(AttentionKernelRates, MalformedTablesAreRefusedByName) {
  auto bad = series();
  bad.backward_full.pop_back();
  try {
    sched::AttentionKernelRates("test", kLengths, bad, "hardware.attention_kernel");
    FAIL() << "a short series was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("hardware.attention_kernel.backward_full_tflops"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sched::AttentionKernelRates("test", {16, 64, 64, 1024}, series(), "h"), ConfigError);
  EXPECT_THROW(sched::AttentionKernelRates("test", {}, {}, "h"), ConfigError);
  bad = series();
  bad.forward_full[2] = 0.0;
  EXPECT_THROW(sched::AttentionKernelRates("test", kLengths, bad, "h"), ConfigError);
  EXPECT_FALSE(table().empty());
  EXPECT_TRUE(sched::AttentionKernelRates{}.empty()) << "no table: the flat rate applies";
}
