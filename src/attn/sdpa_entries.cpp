#include "attn/sdpa_entries.hpp"

#include <algorithm>

namespace flexcp::attn {

std::vector<SdpaEntry> sdpa_entries(const AttentionSlice& s) {
  if (s.q_len <= 0 || s.k_len <= 0) return {};
  if (s.full()) return {{s.q_begin, s.q_len, s.k_begin, s.k_len, EntryMask::none}};
  if (s.diag == s.k_len - s.q_len && s.q_len <= s.k_len)
    return {{s.q_begin, s.q_len, s.k_begin, s.k_len, EntryMask::bottom_right}};
  std::vector<SdpaEntry> out;
  // Row i sees every key iff i + diag + 1 >= k_len; not full, so first_full > 0.
  const std::int64_t first_full = s.k_len - 1 - s.diag;
  const std::int64_t first_seeing = std::max<std::int64_t>(0, -s.diag);  // rows before see no key
  const std::int64_t last_partial = std::min(first_full, s.q_len) - 1;
  if (first_seeing <= last_partial) {
    // Rows [first_seeing, last_partial] against keys [0, last_partial + diag + 1): the last row
    // sees them all, so the band is aligned bottom-right, and s_q <= s_kv since first_seeing >= -diag.
    out.push_back({s.q_begin + first_seeing, last_partial - first_seeing + 1, s.k_begin, last_partial + s.diag + 1,
                   EntryMask::bottom_right});
  }
  if (first_full < s.q_len) out.push_back({s.q_begin + first_full, s.q_len - first_full, s.k_begin, s.k_len, EntryMask::none});
  return out;
}

std::int64_t SdpaLayer::max_q_len() const {
  std::int64_t m = 0;
  for (const auto& e : entries) m = std::max(m, e.q_len);
  return m;
}
std::int64_t SdpaLayer::max_k_len() const {
  std::int64_t m = 0;
  for (const auto& e : entries) m = std::max(m, e.k_len);
  return m;
}

namespace {
bool overlap(std::int64_t a, std::int64_t a_len, std::int64_t b, std::int64_t b_len) {
  return a < b + b_len && b < a + a_len;
}
}  // namespace

std::vector<SdpaLayer> sdpa_layers(const SliceSet& slices, bool disjoint_keys) {
  std::vector<SdpaEntry> all;
  for (const auto& s : slices.slices)
    for (const auto& e : sdpa_entries(s)) all.push_back(e);
  std::stable_sort(all.begin(), all.end(), [](const SdpaEntry& a, const SdpaEntry& b) {
    return a.q_begin != b.q_begin ? a.q_begin < b.q_begin : a.k_begin < b.k_begin;
  });
  std::vector<SdpaLayer> layers;
  for (const auto& e : all) {
    SdpaLayer* home = nullptr;
    for (auto& layer : layers) {
      if (layer.mask != e.mask) continue;
      // In q_begin order, the layer's last entry is the only one that can reach e's query rows.
      const auto& last = layer.entries.back();
      if (overlap(last.q_begin, last.q_len, e.q_begin, e.q_len)) continue;
      // Key offsets never decrease along a layer (the ragged layouts cuDNN was checked with); in
      // the backward each key range starts after the previous one ends, so all are disjoint.
      if (e.k_begin < (disjoint_keys ? last.k_begin + last.k_len : last.k_begin)) continue;
      home = &layer;
      break;
    }
    if (home == nullptr) home = &layers.emplace_back(SdpaLayer{e.mask, {}});
    home->entries.push_back(e);
  }
  return layers;
}

}  // namespace flexcp::attn
