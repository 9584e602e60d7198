#include "attn/prepared.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace flexcp::attn {

PreparedSlices::PreparedSlices(SliceSet slices) : slices_(std::move(slices)), area_(slices_.area()) {
  for (const auto& s : slices_.slices) {
    query_rows_ = std::max(query_rows_, s.q_begin + s.q_len);
    key_rows_ = std::max(key_rows_, s.k_begin + s.k_len);
  }
  for (const auto& g : slices_.by_key) key_rows_ = std::max(key_rows_, g.begin + g.len);  // dK/dV write whole groups
}

PreparedCopies::PreparedCopies(std::vector<BlockCopy> blocks) : blocks_(std::move(blocks)) {
  for (const auto& b : blocks_) {
    FLEXCP_CHECK(b.src >= 0 && b.dst >= 0 && b.length >= 0 && b.rows >= 0 && b.src_stride >= 0 && b.dst_stride >= 0,
                 "a block copy with a negative offset, length or stride");
    if (b.rows == 0 || b.length == 0) continue;
    src_extent_ = std::max(src_extent_, b.src + (b.rows - 1) * b.src_stride + b.length);
    dst_extent_ = std::max(dst_extent_, b.dst + (b.rows - 1) * b.dst_stride + b.length);
    elements_ += b.rows * b.length;
  }
}

}  // namespace flexcp::attn
