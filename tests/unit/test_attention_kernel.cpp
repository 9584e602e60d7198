// Kernel rates by slice length (sched/attention_kernel.hpp): the measured points come back
// exactly, lengths between them are interpolated in log-length, the ends are held, a dip in the
// measurements does not make a longer slice slower, and malformed tables are refused by name.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "sched/attention_kernel.hpp"

using namespace flexcp;
using sched::SliceMask;

namespace {
sched::AttentionKernelRates table() {
  sched::AttentionKernelRates k;
  k.lengths = {16, 64, 256, 1024};
  k.forward_causal = {4, 40, 160, 150};  // a dip at 1024
  k.forward_full = {8, 80, 200, 300};
  k.backward_causal = {6, 50, 100, 190};
  k.backward_full = {10, 100, 180, 190};
  return k;
}
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
  auto k = table();
  k.backward_full.pop_back();
  EXPECT_THROW(k.validate("hardware.attention_kernel"), ConfigError);
  try {
    k.validate("hardware.attention_kernel");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("backward_full_tflops"), std::string::npos) << e.what();
  }
  k = table();
  k.lengths = {16, 64, 64, 1024};
  EXPECT_THROW(k.validate("h"), ConfigError);
  k = table();
  k.forward_full[2] = 0.0;
  EXPECT_THROW(k.validate("h"), ConfigError);
  EXPECT_NO_THROW(table().validate("h"));
  EXPECT_NO_THROW(sched::AttentionKernelRates{}.validate("h")) << "no table is allowed: the flat rate applies";
}
