#include "attn/slice.hpp"

#include <algorithm>
#include <map>

namespace flexcp::attn {

double AttentionSlice::area() const {
  // Rows with i + diag + 1 in (0, k_len) see a growing prefix; the rest see none or all keys.
  double total = 0.0;
  const std::int64_t first_partial = std::max<std::int64_t>(0, -diag);          // first row seeing >= 1 key
  const std::int64_t first_full = std::clamp<std::int64_t>(k_len - 1 - diag, 0, q_len);  // first row seeing all
  for (std::int64_t i = first_partial; i < std::max(first_partial, first_full); ++i)
    total += static_cast<double>(i + diag + 1);
  total += static_cast<double>(q_len - std::max(first_full, first_partial)) * static_cast<double>(k_len);
  return total;
}

double SliceSet::area() const {
  double total = 0.0;
  for (const auto& s : slices) total += s.area();
  return total;
}

SliceSet build_slices(const sched::RankShard& queries, const sched::RankShard& keys) {
  SliceSet out;
  std::map<std::int32_t, std::vector<const sched::TokenSegment*>> keys_of_doc;
  for (const auto& k : keys.segments) keys_of_doc[k.doc].push_back(&k);

  std::map<std::int64_t, SliceGroup> by_key;
  for (const auto& q : queries.segments) {
    auto found = keys_of_doc.find(q.doc);
    if (found == keys_of_doc.end()) continue;
    SliceGroup group{q.local_begin, q.length, {}};
    for (const auto* k : found->second) {
      AttentionSlice s;
      s.q_begin = q.local_begin;
      s.q_len = q.length;
      s.k_begin = k->local_begin;
      s.diag = q.pos_begin - k->pos_begin;
      // Keys past the last query's position are never visible: trim them.
      s.k_len = std::min(k->length, q.length + s.diag);
      if (s.k_len <= 0) continue;
      const auto index = static_cast<std::int32_t>(out.slices.size());
      out.slices.push_back(s);
      group.slices.push_back(index);
      auto& kg = by_key[k->local_begin];
      kg.begin = k->local_begin;
      kg.len = k->length;
      kg.slices.push_back(index);
    }
    if (!group.slices.empty()) out.by_query.push_back(std::move(group));
  }
  for (auto& [begin, group] : by_key) out.by_key.push_back(std::move(group));
  return out;
}

}  // namespace flexcp::attn
