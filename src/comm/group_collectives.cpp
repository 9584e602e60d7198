#include "comm/group_collectives.hpp"

#include <string>

namespace flexcp::comm {

std::vector<std::int64_t> offsets_of(const std::vector<std::int64_t>& counts) {
  std::vector<std::int64_t> offsets(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) offsets[i] = offsets[i - 1] + counts[i - 1];
  return offsets;
}

double total_of(const std::vector<std::int64_t>& counts) {
  double s = 0.0;
  for (auto c : counts) s += static_cast<double>(c);
  return s;
}

void GroupCollectives::check(const View& view, std::int64_t needed, const char* what) const {
  view.require(space(), what);
  FLEXCP_CHECK(view.element == Element::fp32, std::string(what) + ": group collectives move fp32");
  FLEXCP_CHECK(view.count >= needed, std::string(what) + " holds " + std::to_string(view.count) + " elements, " +
                                         std::to_string(needed) + " needed");
}

void GroupCollectives::check_counts(const std::vector<std::int64_t>& counts) const {
  FLEXCP_CHECK(static_cast<int>(counts.size()) == size(),
               std::to_string(counts.size()) + " counts for a group of " + std::to_string(size()));
  for (auto c : counts) FLEXCP_CHECK(c >= 0, "a negative count");
}

GroupCollectives::Ticket GroupCollectives::start_allgatherv(const View& send, const View& recv,
                                                            const std::vector<std::int64_t>& counts) {
  check_counts(counts);
  check(send, counts[static_cast<std::size_t>(position())], "all-gather send");
  check(recv, static_cast<std::int64_t>(total_of(counts)), "all-gather receive");
  return do_allgatherv(send, recv, counts);
}

GroupCollectives::Ticket GroupCollectives::start_reduce_scatterv(const View& send, const View& recv,
                                                                 const std::vector<std::int64_t>& counts) {
  check_counts(counts);
  check(send, static_cast<std::int64_t>(total_of(counts)), "reduce-scatter send");
  check(recv, counts[static_cast<std::size_t>(position())], "reduce-scatter receive");
  return do_reduce_scatterv(send, recv, counts);
}

GroupCollectives::Ticket GroupCollectives::start_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts,
                                                           const View& recv,
                                                           const std::vector<std::int64_t>& recv_counts) {
  check_counts(send_counts);
  check_counts(recv_counts);
  check(send, static_cast<std::int64_t>(total_of(send_counts)), "all-to-all send");
  check(recv, static_cast<std::int64_t>(total_of(recv_counts)), "all-to-all receive");
  return do_alltoallv(send, send_counts, recv, recv_counts);
}

}  // namespace flexcp::comm
