#include "sched/token_layout.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {

namespace {
// Appends to `layout` the parts of [begin, end) of document `doc` (positions) that fall on image
// sequences, as pieces on `rank`.
void add_range(ImageTokenLayout& layout, const MultimodalBatch& batch, const std::vector<std::vector<int>>& images_of_doc,
               std::int32_t doc, std::int64_t begin, std::int64_t end, std::int32_t rank) {
  for (int i : images_of_doc[static_cast<std::size_t>(doc)]) {
    const auto& image = batch.images[static_cast<std::size_t>(i)];
    std::int64_t at = image.llm_begin;
    const auto& seqs = image.encoded.sequence_llm_tokens;
    for (std::size_t s = 0; s < seqs.size(); ++s) {
      const auto lo = std::max(begin, at), hi = std::min(end, at + seqs[s]);
      if (lo < hi) layout[static_cast<std::size_t>(i)][s].push_back({rank, lo - at, hi - lo});
      at += seqs[s];
    }
  }
}
}  // namespace

ImageTokenLayout llm_image_layout(const Plan& plan, const MultimodalBatch& batch, int first_rank) {
  FLEXCP_CHECK(plan.batch.doc_lengths == batch.llm.doc_lengths,
               "the LLM plan re-cut the batch's documents: image positions are known only for the batch itself");
  std::vector<std::vector<int>> images_of_doc(batch.llm.doc_lengths.size());
  ImageTokenLayout layout(batch.images.size());
  for (std::size_t i = 0; i < batch.images.size(); ++i) {
    images_of_doc[static_cast<std::size_t>(batch.images[i].doc)].push_back(static_cast<int>(i));
    layout[i].resize(batch.images[i].encoded.sequence_llm_tokens.size());
  }
  for (const auto& mb : plan.micro_batches)
    for (const auto& group : mb.groups) {
      const int p = static_cast<int>(group.ranks.size());
      for (const auto& d : group.docs) {
        const auto length = batch.llm.doc_lengths[static_cast<std::size_t>(d.doc)];
        if (d.sharding == Sharding::whole) {
          add_range(layout, batch, images_of_doc, d.doc, 0, length,
                    first_rank + group.ranks[static_cast<std::size_t>(d.owner)]);
          continue;
        }
        for (std::int64_t c = 0; c < 2 * p; ++c) {  // chunk c sits on member c, or 2P-1-c in the second half
          const auto member = static_cast<std::size_t>(c < p ? c : 2 * p - 1 - c);
          add_range(layout, batch, images_of_doc, d.doc, zigzag::chunk_begin(length, p, c),
                    zigzag::chunk_begin(length, p, c + 1), first_rank + group.ranks[member]);
        }
      }
    }
  for (auto& image : layout)
    for (auto& pieces : image)
      std::sort(pieces.begin(), pieces.end(), [](const TokenPiece& a, const TokenPiece& b) { return a.begin < b.begin; });
  return layout;
}

std::vector<std::string> layout_problems(const ImageTokenLayout& layout, const MultimodalBatch& batch) {
  std::vector<std::string> problems;
  if (layout.size() != batch.images.size()) return {"the layout has " + std::to_string(layout.size()) + " images, the batch " +
                                                    std::to_string(batch.images.size())};
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const auto& seqs = batch.images[i].encoded.sequence_llm_tokens;
    if (layout[i].size() != seqs.size()) {
      problems.push_back("image " + std::to_string(i) + ": wrong number of sequences");
      continue;
    }
    for (std::size_t s = 0; s < seqs.size(); ++s) {
      std::int64_t at = 0;
      for (const auto& piece : layout[i][s]) {
        if (piece.begin != at || piece.count < 1)
          problems.push_back("image " + std::to_string(i) + " sequence " + std::to_string(s) + ": pieces do not tile it at " +
                             std::to_string(at));
        at = piece.begin + piece.count;
      }
      if (at != seqs[s])
        problems.push_back("image " + std::to_string(i) + " sequence " + std::to_string(s) + ": covers " + std::to_string(at) +
                           " of " + std::to_string(seqs[s]) + " tokens");
    }
  }
  return problems;
}

}  // namespace flexcp::sched
