#include "attn/head_sequence.hpp"

namespace flexcp::attn {

sched::RankShard head_sequence(const std::vector<sched::RankShard>& shards, const std::vector<std::int64_t>& whole_tokens,
                               int first, int count) {
  sched::RankShard sequence;
  std::int64_t offset = 0;
  for (int j = first; j < first + count; ++j) {
    const auto whole = whole_tokens[static_cast<std::size_t>(j)];
    for (const auto& seg : shards[static_cast<std::size_t>(j)].segments) {
      if (seg.local_begin < whole) continue;
      auto moved = seg;
      moved.local_begin = seg.local_begin - whole + offset;
      sequence.segments.push_back(moved);
    }
    offset += shards[static_cast<std::size_t>(j)].tokens() - whole;
  }
  return sequence;
}

}  // namespace flexcp::attn
