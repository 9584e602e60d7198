#pragma once
// What an executor hands to the kernels more than once, prepared once for the backend: slice
// sets (the CUDA backend flattens them into device arrays) and lists of block copies (packing
// KV pieces, the Ulysses transposes). Made only by Kernels::prepare; each backend may attach its
// own form by deriving.
#include <cstdint>
#include <vector>

#include "attn/slice.hpp"

namespace flexcp::attn {

class PreparedSlices {
 public:
  explicit PreparedSlices(SliceSet slices);
  virtual ~PreparedSlices() = default;
  PreparedSlices(const PreparedSlices&) = delete;
  PreparedSlices& operator=(const PreparedSlices&) = delete;

  const SliceSet& slices() const { return slices_; }
  double area() const { return area_; }
  bool empty() const { return slices_.slices.empty(); }
  // Rows the slices reach: a query buffer needs at least query_rows(), a key buffer key_rows().
  std::int64_t query_rows() const { return query_rows_; }
  std::int64_t key_rows() const { return key_rows_; }

 private:
  SliceSet slices_;
  double area_ = 0.0;
  std::int64_t query_rows_ = 0, key_rows_ = 0;
};

// `rows` runs of `length` elements: run r goes from src + r * src_stride to dst + r * dst_stride
// (offsets in elements). A contiguous block is one run.
struct BlockCopy {
  std::int64_t src = 0, dst = 0, length = 0;
  std::int64_t rows = 1, src_stride = 0, dst_stride = 0;
};

class PreparedCopies {
 public:
  explicit PreparedCopies(std::vector<BlockCopy> blocks);
  virtual ~PreparedCopies() = default;
  PreparedCopies(const PreparedCopies&) = delete;
  PreparedCopies& operator=(const PreparedCopies&) = delete;

  const std::vector<BlockCopy>& blocks() const { return blocks_; }
  // Elements a source (destination) view must hold for every run to fit.
  std::int64_t src_extent() const { return src_extent_; }
  std::int64_t dst_extent() const { return dst_extent_; }
  std::int64_t elements() const { return elements_; }  // moved per copy

 private:
  std::vector<BlockCopy> blocks_;
  std::int64_t src_extent_ = 0, dst_extent_ = 0, elements_ = 0;
};

}  // namespace flexcp::attn
