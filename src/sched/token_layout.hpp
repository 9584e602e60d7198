#pragma once
// Where the LLM tokens of every image live in one component's layout: for each image sequence,
// pieces of consecutive tokens, each on one rank. The encoder's layout says which rank's
// projector produces them, the LLM's which rank's attention consumes them; the boundary between
// the two is a redistribution every rank can compute from both plans (boundary_traffic.hpp).
#include <cstdint>
#include <vector>

#include "sched/multimodal_batch.hpp"
#include "sched/plan.hpp"

namespace flexcp::sched {

struct TokenPiece {
  std::int32_t rank = 0;
  std::int64_t begin = 0;  // offset among the sequence's LLM tokens
  std::int64_t count = 0;
};

// [image][sequence] -> pieces, ascending `begin`, tiling the sequence's LLM tokens exactly.
using ImageTokenLayout = std::vector<std::vector<std::vector<TokenPiece>>>;

// The LLM's layout of the images of `batch` under `plan` (every micro-batch; the plan must keep
// the batch's documents, as flexcp's planner does): a whole document's image tokens on its owner,
// a split document's on the members holding their zigzag chunks. Ranks are offset by
// `first_rank` (the LLM's ranks start there when the encoder has ranks of its own).
ImageTokenLayout llm_image_layout(const Plan& plan, const MultimodalBatch& batch, int first_rank = 0);

// Every violated invariant of `layout` for `batch`, in words; empty when sound.
std::vector<std::string> layout_problems(const ImageTokenLayout& layout, const MultimodalBatch& batch);

}  // namespace flexcp::sched
