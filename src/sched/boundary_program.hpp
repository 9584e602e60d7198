#pragma once
// One rank's part of the boundary between encoder and LLM, computed from the two layouts alone
// (every rank computes its own, no coordination): the rows it holds on each side, what it sends
// to and receives from each peer, and what it keeps. Every rank enumerates the overlaps of the
// two layouts in the same canonical order (image, sequence, position), so the runs A sends to B
// are the runs B expects from A, in the same order: the transport's untagged matching holds.
// Forward moves projector outputs encoder -> LLM; backward moves their gradients back over the
// same runs with sends and receives swapped.
#include <cstdint>
#include <vector>

#include "sched/token_layout.hpp"

namespace flexcp::sched {

struct TokenRun {
  std::int32_t image = 0, sequence = 0;
  std::int64_t begin = 0, count = 0;  // offsets among the sequence's LLM tokens
};

// The image tokens a rank holds in one layout, as rows of its local buffer in canonical order.
struct RankRows {
  std::vector<TokenRun> runs;
  std::vector<std::int64_t> first_row;  // row of each run's first token
  std::int64_t rows = 0;
  // Local row of token `offset` of (image, sequence); throws when the rank does not hold it.
  std::int64_t row_of(std::int32_t image, std::int32_t sequence, std::int64_t offset) const;
};
RankRows rows_on(const ImageTokenLayout& layout, int rank);

struct BoundaryProgram {
  struct Transfer {
    int peer = 0;
    std::vector<TokenRun> runs;
    std::int64_t tokens = 0;
  };
  RankRows encoder_rows;            // this rank's rows in the encoder's layout
  RankRows llm_rows;                // ... and in the LLM's
  std::vector<Transfer> sends;      // forward, peers ascending
  std::vector<Transfer> receives;   // forward, peers ascending
  std::vector<TokenRun> local;      // made and used here: a copy, no message
  std::int64_t sent_tokens() const;
};

BoundaryProgram boundary_program(const ImageTokenLayout& encoder, const ImageTokenLayout& llm, int rank);

}  // namespace flexcp::sched
