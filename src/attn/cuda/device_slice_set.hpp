#pragma once
// A SliceSet flattened into device arrays for the CUDA kernels: the slices themselves
// (AttentionSlice is the record kernels read, so the mask arithmetic is the host's), the slice
// indices of every query segment and key segment, and row tiles of those segments ("tasks") at
// whatever tile height a kernel asks for, built once per height and kept. Tasks are ordered
// heaviest first (visible pairs in the tile) so the long tiles of causal documents start first
// and the short ones fill the tail of the grid.
#include <cstdint>
#include <map>
#include <utility>

#include "attn/slice.hpp"
#include "device/buffer.hpp"

namespace flexcp::attn::cuda {

// Rows [row_begin, row_begin + rows) of the local buffer, which are rows [offset, offset + rows)
// of one segment; the segment's slices are members[member_begin, member_end).
struct DeviceTask {
  std::int64_t row_begin, offset;
  std::int32_t rows, member_begin, member_end;
};

struct DeviceTasks {
  const DeviceTask* tasks = nullptr;
  std::int32_t count = 0;
};

class DeviceSliceSet {
 public:
  explicit DeviceSliceSet(const SliceSet& slices);

  const AttentionSlice* slices() const { return static_cast<const AttentionSlice*>(slices_.data()); }
  const std::int32_t* query_members() const { return static_cast<const std::int32_t*>(query_members_.data()); }
  const std::int32_t* key_members() const { return static_cast<const std::int32_t*>(key_members_.data()); }
  // Tiles of `tile_rows` rows of every query segment (forward, dQ) or key segment (dK, dV).
  DeviceTasks query_tasks(int tile_rows) const { return tasks(true, tile_rows); }
  DeviceTasks key_tasks(int tile_rows) const { return tasks(false, tile_rows); }
  // Whether the query segments cover every row of a buffer of `tokens` rows (then a forward
  // writes every row itself and nothing needs clearing first).
  bool queries_cover(std::int64_t tokens) const { return query_rows_ == tokens; }
  // The length of the query segment an average query row lies in (sum len^2 / sum len): what
  // decides whether tall query tiles are mostly full or mostly padding.
  double row_weighted_query_length() const { return query_rows_ > 0 ? query_rows_squared_ / static_cast<double>(query_rows_) : 0.0; }

 private:
  DeviceTasks tasks(bool queries, int tile_rows) const;

  SliceSet host_;  // kept to tile the segments at heights asked for later
  device::DeviceBuffer slices_, query_members_, key_members_;
  std::int64_t query_rows_ = 0;
  double query_rows_squared_ = 0.0;
  mutable std::map<std::pair<bool, int>, std::pair<device::DeviceBuffer, std::int32_t>> task_lists_;
};

}  // namespace flexcp::attn::cuda
