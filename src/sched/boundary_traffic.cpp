#include "sched/boundary_traffic.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <utility>

#include "common/error.hpp"

namespace flexcp::sched {

namespace {
// Calls visit(src, dst, tokens) for every overlap of a piece of `from` with a piece of `to`.
template <typename Visit>
void for_each_overlap(const ImageTokenLayout& from, const ImageTokenLayout& to, Visit visit) {
  FLEXCP_CHECK(from.size() == to.size(), "boundary: the two layouts hold different images");
  for (std::size_t i = 0; i < from.size(); ++i) {
    FLEXCP_CHECK(from[i].size() == to[i].size(), "boundary: image " + std::to_string(i) + " has different sequences");
    for (std::size_t s = 0; s < from[i].size(); ++s) {
      // Both piece lists tile the sequence in ascending order: walk them together.
      const auto& a = from[i][s];
      const auto& b = to[i][s];
      std::size_t x = 0, y = 0;
      while (x < a.size() && y < b.size()) {
        const auto lo = std::max(a[x].begin, b[y].begin);
        const auto hi = std::min(a[x].begin + a[x].count, b[y].begin + b[y].count);
        if (lo < hi) visit(a[x].rank, b[y].rank, hi - lo);
        if (a[x].begin + a[x].count <= b[y].begin + b[y].count) ++x;
        else ++y;
      }
    }
  }
}
}  // namespace

BoundaryTraffic boundary_traffic(const ImageTokenLayout& from, const ImageTokenLayout& to, const Cluster& cluster) {
  const auto n = static_cast<std::size_t>(cluster.ranks());
  BoundaryTraffic t;
  t.sent_tokens.assign(n, 0);
  t.received_tokens.assign(n, 0);
  t.inter_node_sent.assign(n, 0);
  t.inter_node_received.assign(n, 0);
  std::set<std::pair<int, int>> pairs;
  for_each_overlap(from, to, [&](int src, int dst, std::int64_t tokens) {
    FLEXCP_CHECK(src >= 0 && dst >= 0 && src < cluster.ranks() && dst < cluster.ranks(), "boundary: rank outside the machine");
    if (src == dst) {
      t.local_tokens += tokens;
      return;
    }
    t.moved_tokens += tokens;
    t.sent_tokens[static_cast<std::size_t>(src)] += tokens;
    t.received_tokens[static_cast<std::size_t>(dst)] += tokens;
    if (cluster.node_of(src) != cluster.node_of(dst)) {
      t.inter_node_sent[static_cast<std::size_t>(src)] += tokens;
      t.inter_node_received[static_cast<std::size_t>(dst)] += tokens;
    }
    pairs.insert({src, dst});
  });
  t.peers.assign(n, 0);
  for (const auto& [src, dst] : pairs) {
    ++t.peers[static_cast<std::size_t>(src)];
    if (pairs.count({dst, src}) == 0) ++t.peers[static_cast<std::size_t>(dst)];
  }
  for (std::size_t r = 0; r < n; ++r)
    if (t.sent_tokens[r] + t.received_tokens[r] > 0) t.ranks.push_back(static_cast<int>(r));
  return t;
}

std::vector<int> boundary_ranks(const ImageTokenLayout& from, const ImageTokenLayout& to, int ranks) {
  bool crosses = false;
  for_each_overlap(from, to, [&](int src, int dst, std::int64_t) { crosses = crosses || src != dst; });
  if (!crosses || ranks < 2) return {};
  std::vector<int> all(static_cast<std::size_t>(ranks));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

double boundary_time_s(const BoundaryTraffic& t, double bytes_per_token, const Cluster& cluster, const HardwareProfile& hw) {
  double slowest = 0.0;
  for (std::size_t r = 0; r < t.sent_tokens.size(); ++r) {
    // Sending and receiving share nothing on a full-duplex link: the larger of the two counts.
    const auto inter = std::max(t.inter_node_sent[r], t.inter_node_received[r]);
    const auto intra = std::max(t.sent_tokens[r] - t.inter_node_sent[r], t.received_tokens[r] - t.inter_node_received[r]);
    const bool spans = cluster.nodes > 1 && (t.inter_node_sent[r] > 0 || t.inter_node_received[r] > 0);
    const double latency = spans ? hw.inter_latency : hw.intra_latency;
    const double time = static_cast<double>(intra) * bytes_per_token / hw.intra_bandwidth +
                        static_cast<double>(inter) * bytes_per_token / hw.inter_bandwidth + t.peers[r] * latency;
    slowest = std::max(slowest, time);
  }
  return slowest;
}

}  // namespace flexcp::sched
