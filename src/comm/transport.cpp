#include "comm/transport.hpp"

#include <algorithm>
#include <string>

#include "common/clock.hpp"

namespace flexcp::comm {
namespace {
bool overlap(const View& a, const View& b) {
  const auto* a0 = static_cast<const char*>(a.data);
  const auto* b0 = static_cast<const char*>(b.data);
  return a.count > 0 && b.count > 0 && a0 < b0 + b.bytes() && b0 < a0 + a.bytes();
}
}  // namespace

Transport::Ticket Transport::post(const Stage& stage) {
  if (stage.empty()) return {};
  const auto& ops = stage.operations();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& op = ops[i];
    FLEXCP_CHECK(op.peer >= 0 && op.peer < size() && op.peer != rank(),
                 "a stage " + std::string(op.send ? "sends to" : "receives from") + " rank " + std::to_string(op.peer) +
                     " (this is rank " + std::to_string(rank()) + " of " + std::to_string(size()) + ")");
    op.data.require(space(), op.send ? "stage send" : "stage receive");
    for (std::size_t j = 0; j < i; ++j)
      FLEXCP_CHECK(!(overlap(op.data, ops[j].data) && (!op.send || !ops[j].send)),
                   "two operations of one stage use overlapping memory (operations " + std::to_string(j) + " and " +
                       std::to_string(i) + ")");
  }
  const auto sequence = issue(stage);
  for (const auto& op : ops)
    if (op.send) {
      stats_.bytes_sent += static_cast<double>(op.data.bytes());
      stats_.messages_sent += 1;
    }
  return {sequence};
}

void Transport::wait(Ticket& ticket) {
  if (ticket.stage < 0) return;
  const WallTimer timer;
  complete(ticket.stage);
  stats_.wait_seconds += timer.seconds();
  ticket.stage = -1;
}

}  // namespace flexcp::comm
