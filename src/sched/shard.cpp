#include "sched/shard.hpp"

#include "common/error.hpp"

namespace flexcp::sched {

std::int64_t RankShard::tokens() const {
  std::int64_t total = 0;
  for (const auto& s : segments) total += s.length;
  return total;
}

namespace {
void append_segment(RankShard& shard, std::int32_t doc, std::int64_t begin, std::int64_t end) {
  if (end <= begin) return;
  const std::int64_t local = shard.segments.empty()
                                 ? 0
                                 : shard.segments.back().local_begin + shard.segments.back().length;
  shard.segments.push_back({doc, begin, end - begin, local});
}
}  // namespace

std::vector<RankShard> zigzag_shards(const Batch& batch, int group_size) {
  FLEXCP_CHECK(group_size >= 1, "a CP group needs at least one rank");
  const std::int64_t chunks = 2 * static_cast<std::int64_t>(group_size);
  std::vector<RankShard> shards(static_cast<std::size_t>(group_size));
  for (std::size_t d = 0; d < batch.doc_lengths.size(); ++d) {
    const std::int64_t length = batch.doc_lengths[d];
    auto boundary = [&](std::int64_t c) { return c * length / chunks; };
    for (int r = 0; r < group_size; ++r) {
      const std::int64_t first = r, second = chunks - 1 - r;
      auto& shard = shards[static_cast<std::size_t>(r)];
      append_segment(shard, static_cast<std::int32_t>(d), boundary(first), boundary(first + 1));
      append_segment(shard, static_cast<std::int32_t>(d), boundary(second), boundary(second + 1));
    }
  }
  return shards;
}

}  // namespace flexcp::sched
