#include "sched/length_buckets.hpp"

#include <algorithm>
#include <limits>

namespace flexcp::sched {

std::vector<LengthBucket> bucket_lengths(const std::vector<std::int64_t>& lengths, const std::vector<std::int32_t>& docs,
                                         int max_buckets) {
  std::vector<std::int32_t> sorted = docs;  // shortest first for the dynamic programme
  std::stable_sort(sorted.begin(), sorted.end(), [&](std::int32_t a, std::int32_t b) {
    return lengths[static_cast<std::size_t>(a)] < lengths[static_cast<std::size_t>(b)];
  });
  if (sorted.empty()) return {};
  // Candidate cut points: after the last document of each group of lengths within 1% of each
  // other (every distinct length when there are few). Group g spans sorted[first[g], first[g+1]).
  std::vector<std::size_t> first{0};
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    const auto here = lengths[static_cast<std::size_t>(sorted[i])];
    const auto start = lengths[static_cast<std::size_t>(sorted[first.back()])];
    if (here != start && static_cast<double>(here) > 1.01 * static_cast<double>(start)) first.push_back(i);
  }
  const std::size_t groups = first.size();
  first.push_back(sorted.size());
  // prefix[g]: tokens of groups [0, g); a bucket of groups [a, b) costs boundary * count - tokens.
  std::vector<double> prefix(groups + 1, 0.0);
  for (std::size_t g = 0; g < groups; ++g) {
    prefix[g + 1] = prefix[g];
    for (std::size_t i = first[g]; i < first[g + 1]; ++i) prefix[g + 1] += static_cast<double>(lengths[static_cast<std::size_t>(sorted[i])]);
  }
  auto padding = [&](std::size_t a, std::size_t b) {
    const double boundary = static_cast<double>(lengths[static_cast<std::size_t>(sorted[first[b] - 1])]);
    return boundary * static_cast<double>(first[b] - first[a]) - (prefix[b] - prefix[a]);
  };
  const std::size_t k_max = std::min<std::size_t>(groups, static_cast<std::size_t>(std::max(1, max_buckets)));
  const double inf = std::numeric_limits<double>::infinity();
  // best[k][b]: least padding of groups [0, b) in k buckets; cut[k][b]: where the last one starts.
  std::vector<std::vector<double>> best(k_max + 1, std::vector<double>(groups + 1, inf));
  std::vector<std::vector<std::size_t>> cut(k_max + 1, std::vector<std::size_t>(groups + 1, 0));
  best[0][0] = 0.0;
  for (std::size_t k = 1; k <= k_max; ++k)
    for (std::size_t b = k; b <= groups; ++b)
      for (std::size_t a = k - 1; a < b; ++a) {
        if (best[k - 1][a] == inf) continue;
        const double cost = best[k - 1][a] + padding(a, b);
        if (cost < best[k][b]) {
          best[k][b] = cost;
          cut[k][b] = a;
        }
      }
  std::vector<LengthBucket> buckets;
  for (std::size_t k = k_max, b = groups; k > 0; --k) {
    const std::size_t a = cut[k][b];
    LengthBucket bucket;
    for (std::size_t i = first[b]; i-- > first[a];) bucket.docs.push_back(sorted[i]);
    bucket.boundary = lengths[static_cast<std::size_t>(bucket.docs.front())];
    buckets.push_back(std::move(bucket));
    b = a;
  }
  return buckets;
}

}  // namespace flexcp::sched
