#include "sched/batch.hpp"

#include <numeric>

namespace flexcp::sched {

std::int64_t Batch::total_tokens() const {
  return std::accumulate(doc_lengths.begin(), doc_lengths.end(), std::int64_t{0});
}

std::vector<std::int64_t> Batch::doc_offsets() const {
  std::vector<std::int64_t> offsets(doc_lengths.size());
  std::exclusive_scan(doc_lengths.begin(), doc_lengths.end(), offsets.begin(), std::int64_t{0});
  return offsets;
}

double Batch::causal_mask_area() const {
  double area = 0.0;
  for (auto length : doc_lengths) area += 0.5 * static_cast<double>(length) * static_cast<double>(length + 1);
  return area;
}

}  // namespace flexcp::sched
