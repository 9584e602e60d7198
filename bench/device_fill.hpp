#pragma once
#include <cstdint>

namespace flexcp::bench {
// `count` bf16 values uniform in [-1, 1), generated on the device from `seed` (default stream).
void fill_uniform_bf16(void* data, std::int64_t count, std::uint64_t seed);
}  // namespace flexcp::bench
