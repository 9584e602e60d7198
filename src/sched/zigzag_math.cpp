#include "sched/zigzag_math.hpp"

#include <algorithm>

namespace flexcp::sched::zigzag {

void add_kv_exchange(std::int64_t length, int group, std::vector<double>& needed, std::vector<double>& served) {
  const std::int64_t chunks = 2 * static_cast<std::int64_t>(group);
  if (length >= chunks) {
    for (int r = 0; r < group; ++r) {
      const auto i = static_cast<std::size_t>(r);
      needed[i] += static_cast<double>(needed_kv_tokens(length, group, r));
      served[i] += static_cast<double>((group - 1) * chunk_size(length, group, r) +
                                       r * chunk_size(length, group, chunks - 1 - r));
    }
    return;
  }
  // Short document (some chunks empty, each at most one token): position x goes to every other
  // rank whose last query comes after it.
  std::vector<std::int64_t> last(static_cast<std::size_t>(group), -1);
  std::vector<int> owner(static_cast<std::size_t>(length), 0);
  for (std::int64_t c = 0; c < chunks; ++c) {
    const int r = static_cast<int>(c < group ? c : chunks - 1 - c);
    for (std::int64_t x = chunk_begin(length, group, c); x < chunk_begin(length, group, c + 1); ++x) {
      owner[static_cast<std::size_t>(x)] = r;
      last[static_cast<std::size_t>(r)] = std::max(last[static_cast<std::size_t>(r)], x);
    }
  }
  std::vector<std::int64_t> sorted = last;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t x = 0; x < length; ++x) {
    const int o = owner[static_cast<std::size_t>(x)];
    const auto after = static_cast<std::int64_t>(sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), x));
    const std::int64_t receivers = after - (last[static_cast<std::size_t>(o)] > x ? 1 : 0);
    served[static_cast<std::size_t>(o)] += static_cast<double>(receivers);
  }
  for (int r = 0; r < group; ++r) needed[static_cast<std::size_t>(r)] += static_cast<double>(needed_kv_tokens(length, group, r));
}

}  // namespace flexcp::sched::zigzag
