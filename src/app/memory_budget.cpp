#include "app/memory_budget.hpp"

#include <algorithm>
#include <cstdio>

#include "common/error.hpp"

namespace flexcp {

double MemoryBudget::total() const {
  double sum = 0.0;
  for (const auto& s : shares) sum += s.bytes;
  return sum;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  char text[48];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return text;
}

void require_memory(const MemoryBudget& need, const MachineMemory& have) {
  const double total = need.total();
  if (!(total > have.available_bytes)) return;  // a NaN total is refused too
  const auto largest = std::max_element(need.shares.begin(), need.shares.end(),
                                        [](const MemoryShare& a, const MemoryShare& b) { return a.bytes < b.bytes; });
  std::string message = need.where + " would need about " + human_bytes(total) + ", but " +
                        human_bytes(have.available_bytes) + " can be allocated (" + have.limited_by + ")";
  if (largest != need.shares.end())
    message += ": the largest share is " + largest->what + ", " + human_bytes(largest->bytes) + ", driven by " +
               largest->key + "; " + need.remedy;
  throw ConfigError(message);
}

}  // namespace flexcp
