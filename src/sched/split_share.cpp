#include "sched/split_share.hpp"

#include <algorithm>

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

void member_shares(std::int64_t length, const CpGroup& group, std::vector<MemberShare>& out) {
  const int p = static_cast<int>(group.ranks.size());
  out.resize(static_cast<std::size_t>(p));
  const std::int64_t padded = padded_length(length, group.pad_multiple);
  // Chunk boundaries of the padded document over `group` positions: zigzag::chunk_begin's values.
  thread_local std::vector<std::int64_t> bounds, ring_bounds;
  auto boundaries = [&](std::vector<std::int64_t>& b, int positions) {
    // c * padded / chunks, stepped without a division per chunk: quotient and remainder advance
    // by padded's own, the remainder carrying into the quotient (the same integers).
    const std::int64_t chunks = 2 * static_cast<std::int64_t>(positions);
    const std::int64_t step = padded / chunks, extra = padded % chunks;
    b.resize(static_cast<std::size_t>(chunks) + 1);
    std::int64_t quotient = 0, remainder = 0;
    for (auto& begin : b) {
      begin = quotient;
      quotient += step;
      remainder += extra;
      if (remainder >= chunks) quotient += 1, remainder -= chunks;
    }
  };
  boundaries(bounds, p);
  // zigzag::real_area's chunk area, from the boundaries.
  auto chunk_area = [&](const std::vector<std::int64_t>& b, std::size_t c) {
    const double lo = static_cast<double>(std::min(b[c], length));
    const double hi = static_cast<double>(std::min(b[c + 1], length));
    return 0.5 * (hi * (hi + 1.0) - lo * (lo + 1.0));
  };
  const auto last = 2 * static_cast<std::size_t>(p) - 1;
  for (int i = 0; i < p; ++i) {
    const auto r = static_cast<std::size_t>(i);
    out[r].tokens = (bounds[r + 1] - bounds[r]) + (bounds[last - r + 1] - bounds[last - r]);
  }
  auto zigzag_slices = [&](int positions) {
    const double slice = positions <= 1 ? static_cast<double>(length) : static_cast<double>(padded) / (2.0 * positions);
    const SliceMask mask = positions <= 1 ? SliceMask::causal : SliceMask::full;
    for (auto& share : out) share.slice_length = slice, share.mask = mask;
  };
  switch (group.comm) {
    case CommScheme::all_to_all: {
      const double pairs = 0.5 * static_cast<double>(length) * static_cast<double>(length + 1) / p;
      for (auto& share : out) share.mask_pairs = pairs, share.slice_length = static_cast<double>(length), share.mask = SliceMask::causal;
      break;
    }
    case CommScheme::hierarchical:
    case CommScheme::hybrid: {
      const int inner = group.inner < 1 ? 1 : group.inner;
      const int positions = p / inner;
      boundaries(ring_bounds, positions);
      const auto ring_last = 2 * static_cast<std::size_t>(positions) - 1;
      for (int i = 0; i < p; ++i) {
        const auto b = static_cast<std::size_t>(i / inner);
        out[static_cast<std::size_t>(i)].mask_pairs =
            (chunk_area(ring_bounds, b) + chunk_area(ring_bounds, ring_last - b)) / inner;
      }
      zigzag_slices(positions);
      break;
    }
    default:
      for (int i = 0; i < p; ++i) {
        const auto r = static_cast<std::size_t>(i);
        out[r].mask_pairs = chunk_area(bounds, r) + chunk_area(bounds, last - r);
      }
      zigzag_slices(p);
      break;
  }
}

}  // namespace flexcp::sched
