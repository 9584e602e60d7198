#include "attn/head_sequence.hpp"

#include <algorithm>

namespace flexcp::attn {

HeadSequence head_sequence(const std::vector<sched::RankShard>& shards, const std::vector<std::int64_t>& whole_tokens,
                           int first, int count) {
  struct Piece {
    sched::TokenSegment segment;
    SequenceRun run;
  };
  std::vector<Piece> pieces;
  for (int j = first; j < first + count; ++j) {
    const auto whole = whole_tokens[static_cast<std::size_t>(j)];
    for (const auto& seg : shards[static_cast<std::size_t>(j)].segments)
      if (seg.local_begin >= whole) pieces.push_back({seg, {j, seg.local_begin - whole, 0, seg.length}});
  }
  std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) {
    return a.segment.doc != b.segment.doc ? a.segment.doc < b.segment.doc : a.segment.pos_begin < b.segment.pos_begin;
  });
  HeadSequence out;
  std::int64_t offset = 0;
  for (auto& piece : pieces) {
    piece.run.sequence_offset = offset;
    out.runs.push_back(piece.run);
    auto& segs = out.shard.segments;
    const auto& seg = piece.segment;
    if (!segs.empty() && segs.back().doc == seg.doc && segs.back().pos_begin + segs.back().length == seg.pos_begin)
      segs.back().length += seg.length;
    else
      segs.push_back({seg.doc, seg.pos_begin, seg.length, offset});
    offset += seg.length;
  }
  return out;
}

}  // namespace flexcp::attn
