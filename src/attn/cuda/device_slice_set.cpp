#include "attn/cuda/device_slice_set.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "attn/tile_tasks.hpp"
#include "common/error.hpp"

namespace flexcp::attn::cuda {
namespace {
static_assert(std::is_trivially_copyable_v<AttentionSlice>, "kernels copy AttentionSlice records byte for byte");

std::vector<std::int32_t> concatenated_members(const std::vector<SliceGroup>& groups) {
  std::vector<std::int32_t> members;
  for (const auto& g : groups) members.insert(members.end(), g.slices.begin(), g.slices.end());
  return members;
}

// The kernels let each task own the output rows of its tile (plain read-add-write of dK and dV),
// which holds only if no two segments of one side share a row.
void require_disjoint(const std::vector<SliceGroup>& groups, const char* side) {
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  for (const auto& g : groups) spans.emplace_back(g.begin, g.begin + g.len);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    FLEXCP_CHECK(spans[i - 1].second <= spans[i].first,
                 std::string(side) + " segments overlap: rows [" + std::to_string(spans[i - 1].first) + ", " +
                     std::to_string(spans[i - 1].second) + ") and [" + std::to_string(spans[i].first) + ", " +
                     std::to_string(spans[i].second) + ")");
}

// Visible (query, key) pairs inside a tile: what orders the tasks.
double tile_work(const SliceSet& set, const SliceGroup& group, const TileTask& tile, bool queries) {
  double pairs = 0.0;
  for (const auto index : group.slices) {
    const auto& s = set.slices[static_cast<std::size_t>(index)];
    for (std::int64_t r = tile.offset; r < tile.offset + tile.rows; ++r)
      pairs += queries ? static_cast<double>(s.visible_keys(r))
                       : (r < s.k_len ? static_cast<double>(s.q_len - s.first_query_seeing(r)) : 0.0);
  }
  return pairs;
}
}  // namespace

DeviceSliceSet::DeviceSliceSet(const SliceSet& slices) : host_(slices) {
  require_disjoint(host_.by_query, "query");
  require_disjoint(host_.by_key, "key");
  slices_ = device::DeviceBuffer::from("flexcp::cuda::slices", host_.slices);
  query_members_ = device::DeviceBuffer::from("flexcp::cuda::query_members", concatenated_members(host_.by_query));
  key_members_ = device::DeviceBuffer::from("flexcp::cuda::key_members", concatenated_members(host_.by_key));
  for (const auto& g : host_.by_query) {
    query_rows_ += g.len;
    query_rows_squared_ += static_cast<double>(g.len) * static_cast<double>(g.len);
  }
}

DeviceTasks DeviceSliceSet::tasks(bool queries, int tile_rows) const {
  FLEXCP_CHECK(tile_rows >= 1 && tile_rows <= 1024, "CUDA task tiles have 1 to 1024 rows, not " + std::to_string(tile_rows));
  const auto key = std::make_pair(queries, tile_rows);
  if (const auto found = task_lists_.find(key); found != task_lists_.end())
    return {static_cast<const DeviceTask*>(found->second.first.data()), found->second.second};

  const auto& groups = queries ? host_.by_query : host_.by_key;
  std::vector<std::int32_t> first_member(groups.size() + 1, 0);
  for (std::size_t g = 0; g < groups.size(); ++g)
    first_member[g + 1] = first_member[g] + static_cast<std::int32_t>(groups[g].slices.size());
  std::vector<std::pair<double, DeviceTask>> weighted;
  for (const auto& tile : tile_groups(groups, tile_rows)) {
    const auto g = static_cast<std::size_t>(tile.group);
    weighted.push_back({tile_work(host_, groups[g], tile, queries),
                        {groups[g].begin + tile.offset, tile.offset, static_cast<std::int32_t>(tile.rows), first_member[g],
                         first_member[g + 1]}});
  }
  // Heaviest first; ties keep buffer order, so the launch order is deterministic.
  std::stable_sort(weighted.begin(), weighted.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<DeviceTask> ordered;
  ordered.reserve(weighted.size());
  for (const auto& [work, task] : weighted) ordered.push_back(task);
  const auto count = static_cast<std::int32_t>(ordered.size());
  auto [it, inserted] = task_lists_.emplace(
      key, std::make_pair(device::DeviceBuffer::from(queries ? "flexcp::cuda::query_tasks" : "flexcp::cuda::key_tasks", ordered),
                          count));
  return {static_cast<const DeviceTask*>(it->second.first.data()), count};
}

}  // namespace flexcp::attn::cuda
