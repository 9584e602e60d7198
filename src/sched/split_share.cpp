#include "sched/split_share.hpp"

#include "sched/zigzag_math.hpp"

namespace flexcp::sched {

std::int64_t padded_length(std::int64_t length, int multiple) {
  const std::int64_t m = multiple < 1 ? 1 : multiple;
  return (length + m - 1) / m * m;
}

MemberShare member_share(std::int64_t length, const CpGroup& group, int member) {
  const int p = static_cast<int>(group.ranks.size());
  const std::int64_t padded = padded_length(length, group.pad_multiple);
  MemberShare share;
  share.tokens = zigzag::tokens(padded, p, member);
  // Zigzag over q ranks: 2q chunks; a member's query chunks meet key chunks of the same size.
  auto zigzag_slices = [&](int positions) {
    share.slice_length = positions <= 1 ? static_cast<double>(length) : static_cast<double>(padded) / (2.0 * positions);
    share.mask = positions <= 1 ? SliceMask::causal : SliceMask::full;
  };
  switch (group.comm) {
    case CommScheme::all_to_all:
      share.mask_pairs = 0.5 * static_cast<double>(length) * static_cast<double>(length + 1) / p;
      share.slice_length = static_cast<double>(length);
      share.mask = SliceMask::causal;
      break;
    case CommScheme::hierarchical:
    case CommScheme::hybrid: {
      // After the all-to-all, block b's members together hold the zigzag chunks of ring position
      // b over p / inner positions, each member for inner-th of the heads, as contiguous runs
      // (TransformerEngine reorders the chunks before attention; flexcp's hybrid executor orders
      // each block's sequence by position, attn/head_sequence.hpp).
      const int inner = group.inner < 1 ? 1 : group.inner;
      share.mask_pairs = zigzag::real_area(padded, length, p / inner, member / inner) / inner;
      zigzag_slices(p / inner);
      break;
    }
    default:
      share.mask_pairs = zigzag::real_area(padded, length, p, member);
      zigzag_slices(p);
      break;
  }
  return share;
}

}  // namespace flexcp::sched
