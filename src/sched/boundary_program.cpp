#include "sched/boundary_program.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "common/error.hpp"

namespace flexcp::sched {

std::int64_t RankRows::row_of(std::int32_t image, std::int32_t sequence, std::int64_t offset) const {
  // Runs are sorted by (image, sequence, begin): the last run starting at or before the token.
  const auto after = std::upper_bound(runs.begin(), runs.end(), TokenRun{image, sequence, offset, 0},
                                      [](const TokenRun& a, const TokenRun& b) {
                                        return std::tie(a.image, a.sequence, a.begin) < std::tie(b.image, b.sequence, b.begin);
                                      });
  if (after != runs.begin()) {
    const auto i = static_cast<std::size_t>(after - runs.begin() - 1);
    const auto& r = runs[i];
    if (r.image == image && r.sequence == sequence && offset < r.begin + r.count) return first_row[i] + offset - r.begin;
  }
  throw Error("token " + std::to_string(offset) + " of image " + std::to_string(image) + " sequence " +
              std::to_string(sequence) + " is not held by this rank");
}

RankRows rows_on(const ImageTokenLayout& layout, int rank) {
  RankRows out;
  for (std::size_t i = 0; i < layout.size(); ++i)
    for (std::size_t s = 0; s < layout[i].size(); ++s)
      for (const auto& piece : layout[i][s])
        if (piece.rank == rank) {
          out.runs.push_back({static_cast<std::int32_t>(i), static_cast<std::int32_t>(s), piece.begin, piece.count});
          out.first_row.push_back(out.rows);
          out.rows += piece.count;
        }
  return out;
}

std::int64_t BoundaryProgram::sent_tokens() const {
  std::int64_t n = 0;
  for (const auto& t : sends) n += t.tokens;
  return n;
}

BoundaryProgram boundary_program(const ImageTokenLayout& encoder, const ImageTokenLayout& llm, int rank) {
  FLEXCP_CHECK(encoder.size() == llm.size(), "boundary: the two layouts hold different images");
  BoundaryProgram p;
  p.encoder_rows = rows_on(encoder, rank);
  p.llm_rows = rows_on(llm, rank);
  std::map<int, BoundaryProgram::Transfer> sends, receives;
  for (std::size_t i = 0; i < encoder.size(); ++i)
    for (std::size_t s = 0; s < encoder[i].size(); ++s) {
      const auto& a = encoder[i][s];
      const auto& b = llm[i][s];
      std::size_t x = 0, y = 0;
      while (x < a.size() && y < b.size()) {  // both tile the sequence in ascending order
        const auto lo = std::max(a[x].begin, b[y].begin);
        const auto hi = std::min(a[x].begin + a[x].count, b[y].begin + b[y].count);
        if (lo < hi) {
          const TokenRun run{static_cast<std::int32_t>(i), static_cast<std::int32_t>(s), lo, hi - lo};
          const int src = a[x].rank, dst = b[y].rank;
          if (src == rank && dst == rank) {
            p.local.push_back(run);
          } else if (src == rank) {
            auto& t = sends[dst];
            t.peer = dst;
            t.runs.push_back(run);
            t.tokens += run.count;
          } else if (dst == rank) {
            auto& t = receives[src];
            t.peer = src;
            t.runs.push_back(run);
            t.tokens += run.count;
          }
        }
        if (a[x].begin + a[x].count <= b[y].begin + b[y].count) ++x;
        else ++y;
      }
    }
  for (auto& [peer, t] : sends) p.sends.push_back(std::move(t));
  for (auto& [peer, t] : receives) p.receives.push_back(std::move(t));
  return p;
}

}  // namespace flexcp::sched
