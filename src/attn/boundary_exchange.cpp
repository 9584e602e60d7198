#include "attn/boundary_exchange.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace flexcp::attn {

namespace {
using Transfer = sched::BoundaryProgram::Transfer;

// Block copies of `runs` between rows of a rank's buffer (`rows`) and a packed block starting at
// row `packed`: each run is contiguous on both sides (one piece of each layout).
void add_runs(std::vector<BlockCopy>& blocks, const std::vector<sched::TokenRun>& runs, const sched::RankRows& rows,
              std::int64_t packed, std::int64_t width, bool to_packed) {
  for (const auto& run : runs) {
    const auto row = rows.row_of(run.image, run.sequence, run.begin);
    BlockCopy b;
    b.length = run.count * width;
    b.src = (to_packed ? row : packed) * width;
    b.dst = (to_packed ? packed : row) * width;
    blocks.push_back(b);
    packed += run.count;
  }
}

std::size_t position_of(const std::vector<int>& ranks, int peer) {
  const auto it = std::lower_bound(ranks.begin(), ranks.end(), peer);
  FLEXCP_CHECK(it != ranks.end() && *it == peer,
               "boundary: rank " + std::to_string(peer) + " exchanges image tokens but is not in the boundary's group");
  return static_cast<std::size_t>(it - ranks.begin());
}

// One direction: `out` transfers read rows of `source` (held as `source_rows`), `in` transfers
// land in `target` (held as `target_rows`); both transfer lists are in ascending peer order,
// which is member order.
void exchange(const std::vector<Transfer>& out, const std::vector<Transfer>& in, const std::vector<sched::TokenRun>& local,
              const sched::RankRows& source_rows, const View& source, const sched::RankRows& target_rows, const View& target,
              std::int64_t width, const BoundaryGroup& group, Kernels& kernels) {
  FLEXCP_CHECK(source.count == source_rows.rows * width, "boundary: the source buffer does not hold this rank's rows");
  FLEXCP_CHECK(target.count == target_rows.rows * width, "boundary: the target buffer does not hold this rank's rows");
  // Made and used here: copied, overlapping nothing that is sent.
  std::vector<BlockCopy> local_blocks;
  for (const auto& run : local) {
    BlockCopy b;
    b.src = source_rows.row_of(run.image, run.sequence, run.begin) * width;
    b.dst = target_rows.row_of(run.image, run.sequence, run.begin) * width;
    b.length = run.count * width;
    local_blocks.push_back(b);
  }
  if (out.empty() && in.empty()) {
    kernels.copy(*kernels.prepare(std::move(local_blocks)), source, target, false);
    return;
  }
  FLEXCP_CHECK(group.collectives != nullptr, "boundary: this rank exchanges image tokens but holds no boundary communicator");
  auto& collectives = *group.collectives;
  FLEXCP_CHECK(collectives.space() == kernels.space(), "boundary: the group's memory space is not the kernels'");
  const auto members = group.ranks.size();
  std::vector<std::int64_t> send_counts(members, 0), recv_counts(members, 0);
  std::vector<BlockCopy> pack, unpack;
  std::int64_t sent = 0, received = 0;
  for (const auto& t : out) {
    add_runs(pack, t.runs, source_rows, sent, width, true);
    send_counts[position_of(group.ranks, t.peer)] = t.tokens * width;
    sent += t.tokens;
  }
  for (const auto& t : in) {
    add_runs(unpack, t.runs, target_rows, received, width, false);
    recv_counts[position_of(group.ranks, t.peer)] = t.tokens * width;
    received += t.tokens;
  }
  auto send = kernels.allocate("boundary send", sent * width);
  auto recv = kernels.allocate("boundary receive", received * width);
  kernels.copy(*kernels.prepare(std::move(pack)), source, send.view(), false);
  auto ticket = collectives.start_alltoallv(send.view(), send_counts, recv.view(), recv_counts);
  kernels.copy(*kernels.prepare(std::move(local_blocks)), source, target, false);  // overlaps the exchange
  collectives.wait(ticket);
  kernels.copy(*kernels.prepare(std::move(unpack)), recv.view(), target, false);
}
}  // namespace

void boundary_forward(const sched::BoundaryProgram& p, const BoundaryGroup& group, const View& encoder_out,
                      const View& llm_in, std::int64_t width, Kernels& kernels) {
  exchange(p.sends, p.receives, p.local, p.encoder_rows, encoder_out, p.llm_rows, llm_in, width, group, kernels);
}

void boundary_backward(const sched::BoundaryProgram& p, const BoundaryGroup& group, const View& llm_grad,
                       const View& encoder_grad, std::int64_t width, Kernels& kernels) {
  exchange(p.receives, p.sends, p.local, p.llm_rows, llm_grad, p.encoder_rows, encoder_grad, width, group, kernels);
}

}  // namespace flexcp::attn
