#pragma once
// Flattens slice groups into fixed-size row tiles, the unit of parallel work of the kernels.
#include <cstdint>
#include <vector>

#include "attn/slice.hpp"

namespace flexcp::attn {

struct TileTask {
  std::int32_t group = 0;     // index into SliceSet::by_query or ::by_key
  std::int64_t offset = 0;    // first row of the tile, relative to the group's segment
  std::int64_t rows = 0;
};

inline std::vector<TileTask> tile_groups(const std::vector<SliceGroup>& groups, int tile_rows) {
  std::vector<TileTask> tasks;
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::int64_t off = 0; off < groups[g].len; off += tile_rows)
      tasks.push_back({static_cast<std::int32_t>(g), off, std::min<std::int64_t>(tile_rows, groups[g].len - off)});
  return tasks;
}

}  // namespace flexcp::attn
