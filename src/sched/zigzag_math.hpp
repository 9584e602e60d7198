#pragma once
// Closed forms for a document of L tokens split zigzag over P ranks (chunks [c L / 2P,
// (c+1) L / 2P), rank r holding chunks r and 2P-1-r), shared by the planner, the cost model
// and, through sched::zigzag_shards, the executor, so all three count the same tokens.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace flexcp::sched::zigzag {

inline std::int64_t chunk_begin(std::int64_t length, int group, std::int64_t chunk) {
  return chunk * length / (2 * static_cast<std::int64_t>(group));
}
inline std::int64_t chunk_size(std::int64_t length, int group, std::int64_t chunk) {
  return chunk_begin(length, group, chunk + 1) - chunk_begin(length, group, chunk);
}
// Tokens rank r holds.
inline std::int64_t tokens(std::int64_t length, int group, int rank) {
  return chunk_size(length, group, rank) + chunk_size(length, group, 2 * group - 1 - rank);
}
// Causal (query, key) pairs whose query rank r holds: a chunk [b, e) sees every earlier key.
inline double area(std::int64_t length, int group, int rank) {
  auto chunk_area = [&](std::int64_t c) {
    const double b = static_cast<double>(chunk_begin(length, group, c));
    const double e = static_cast<double>(chunk_begin(length, group, c + 1));
    return 0.5 * (e * (e + 1.0) - b * (b + 1.0));
  };
  return chunk_area(rank) + chunk_area(2 * group - 1 - rank);
}
// The same for a document of `real` tokens laid out as if it had `padded` >= real tokens (THD
// padding at its end): chunk boundaries of the padded length; padding positions compute nothing.
inline double real_area(std::int64_t padded, std::int64_t real, int group, int rank) {
  auto chunk_area = [&](std::int64_t c) {
    const double b = static_cast<double>(std::min(chunk_begin(padded, group, c), real));
    const double e = static_cast<double>(std::min(chunk_begin(padded, group, c + 1), real));
    return 0.5 * (e * (e + 1.0) - b * (b + 1.0));
  };
  return chunk_area(rank) + chunk_area(2 * group - 1 - rank);
}
// KV tokens of other ranks that rank r's queries need: every position before its last query
// that it does not hold. With a non-empty late chunk 2P-1-r that is everything before the late
// chunk except the early chunk r; with only the early chunk, everything before it.
inline std::int64_t needed_kv_tokens(std::int64_t length, int group, int rank) {
  if (chunk_size(length, group, 2 * group - 1 - rank) > 0)
    return chunk_begin(length, group, 2 * group - 1 - rank) - chunk_size(length, group, rank);
  return chunk_size(length, group, rank) > 0 ? chunk_begin(length, group, rank) : 0;
}

// Adds, for one document, every member's needed KV tokens (what it receives) and served KV
// tokens (what it sends) to `needed` and `served` (size P). Exact for any length: closed forms
// when every chunk is non-empty (L >= 2P: rank r serves its early chunk to all P-1 peers and its
// late chunk to the r ranks whose late chunks come later), counting otherwise.
void add_kv_exchange(std::int64_t length, int group, std::vector<double>& needed, std::vector<double>& served);

}  // namespace flexcp::sched::zigzag
