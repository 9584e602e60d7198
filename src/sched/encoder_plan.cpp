#include "sched/encoder_plan.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <utility>
#include <string>

#include "common/error.hpp"

namespace flexcp::sched {

namespace {
struct Item {
  std::size_t image = 0, sequence = 0;
  std::int64_t patches = 0, llm_tokens = 0;
  double work_s = 0.0;
};

// Cuts a sequence's LLM tokens into `g` near-equal consecutive pieces on ranks first..first+g-1.
std::vector<TokenPiece> pieces_over(std::int64_t tokens, int first, int g) {
  std::vector<TokenPiece> out;
  for (int m = 0; m < g; ++m) {
    const auto begin = tokens * m / g, end = tokens * (m + 1) / g;
    if (end > begin) out.push_back({first + m, begin, end - begin});
  }
  return out;
}
}  // namespace

std::int64_t encoder_capacity_patches(const EncoderShape& e, std::int64_t llm_hidden, const HardwareProfile& hw, int state_ranks,
                                      double reserved_bytes) {
  if (e.activation_bytes_per_patch <= 0.0)
    throw ConfigError("encoder '" + e.name + "': activation_bytes_per_patch is needed to plan its memory");
  const double usable = hw.memory_bytes * hw.usable_memory_fraction - e.state_bytes_per_param * e.parameters(llm_hidden) / state_ranks -
                        reserved_bytes;
  if (usable < e.activation_bytes_per_patch)
    throw ConfigError("encoder '" + e.name + "': its states over " + std::to_string(state_ranks) +
                      " ranks leave no memory for activations");
  return static_cast<std::int64_t>(usable / e.activation_bytes_per_patch);
}

void require_images_fit(const MultimodalBatch& batch, int ranks, std::int64_t capacity_patches) {
  for (const auto& image : batch.images)
    for (const auto patches : image.encoded.sequence_patches)
      if (patches > capacity_patches * ranks)
        throw ConfigError("image " + std::to_string(image.in_sample + 1) + " of sample " + std::to_string(image.sample + 1) +
                          " has " + std::to_string(patches) + " patches in one encoder sequence: larger than any group can hold (" +
                          std::to_string(ranks) + " encoder ranks x " + std::to_string(capacity_patches) + " patches each)");
}

ImageTokenLayout plan_encoder(const MultimodalBatch& batch, const EncoderPlanContext& c) {
  FLEXCP_CHECK(c.ranks >= 1 && c.capacity_patches >= 1, "encoder plan: needs ranks and memory");
  require_images_fit(batch, c.ranks, c.capacity_patches);
  ImageTokenLayout layout(batch.images.size());
  std::vector<Item> items;
  double total = 0.0;
  for (std::size_t i = 0; i < batch.images.size(); ++i) {
    const auto& image = batch.images[i].encoded;
    layout[i].resize(image.sequence_patches.size());
    for (std::size_t s = 0; s < image.sequence_patches.size(); ++s) {
      const auto patches = image.sequence_patches[s];
      items.push_back({i, s, patches, image.sequence_llm_tokens[s], sequence_work_s(patches, image.sequence_llm_tokens[s], c.cost)});
      total += items.back().work_s;
    }
  }
  // Largest first (ties by position, for determinism): the longest-processing-time rule.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.work_s > b.work_s; });
  const double fair = total / c.ranks;
  const int per_node = std::min(c.ranks, c.cost.cluster.ranks_per_node);
  std::vector<double> load(static_cast<std::size_t>(c.ranks), 0.0);
  // Least-loaded rank in O(log ranks): a min-heap of (load, rank) with stale entries skipped
  // (a rank's entry is current only while its load is unchanged); ties go to the lowest rank.
  using Entry = std::pair<double, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> least;
  for (int r = 0; r < c.ranks; ++r) least.push({0.0, r});
  for (const auto& item : items) {
    const auto by_memory = (item.patches + c.capacity_patches - 1) / c.capacity_patches;
    const auto by_work = fair > 0.0 ? static_cast<std::int64_t>(std::ceil(item.work_s / fair - 1e-9)) : 1;
    // Never more members than the sequence has LLM tokens to hand out.
    const int g = static_cast<int>(std::min<std::int64_t>({std::max(by_memory, by_work), c.ranks,
                                                            std::max<std::int64_t>(item.llm_tokens, by_memory)}));
    const double share = item.work_s / g;
    int best = 0;
    if (g == 1) {
      while (least.top().first != load[static_cast<std::size_t>(least.top().second)]) least.pop();
      best = least.top().second;
    } else {
      // The block of g consecutive ranks whose most-loaded member stays lowest; a block that
      // fits in a node must not cross one.
      double best_peak = std::numeric_limits<double>::infinity();
      for (int start = 0; start + g <= c.ranks; ++start) {
        if (g <= per_node && start / per_node != (start + g - 1) / per_node) continue;
        const double peak = *std::max_element(load.begin() + start, load.begin() + start + g) + share;
        if (peak < best_peak) {
          best_peak = peak;
          best = start;
        }
      }
    }
    for (int m = 0; m < g; ++m) {
      load[static_cast<std::size_t>(best + m)] += share;
      least.push({load[static_cast<std::size_t>(best + m)], best + m});
    }
    layout[item.image][item.sequence] = pieces_over(item.llm_tokens, c.first_rank + best, g);
  }
  return layout;
}

}  // namespace flexcp::sched
