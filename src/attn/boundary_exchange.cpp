#include "attn/boundary_exchange.hpp"

#include <algorithm>
#include <vector>

namespace flexcp::attn {

namespace {
using Transfer = sched::BoundaryProgram::Transfer;

// Copies the rows of `runs` between a rank's buffer (rows of `rows`) and a packed message.
void pack(const std::vector<sched::TokenRun>& runs, const sched::RankRows& rows, const float* from, float* to,
          std::int64_t width) {
  for (const auto& run : runs) {
    const auto row = rows.row_of(run.image, run.sequence, run.begin);
    to = std::copy_n(from + row * width, run.count * width, to);
  }
}
void unpack(const std::vector<sched::TokenRun>& runs, const sched::RankRows& rows, const float* from, float* to,
            std::int64_t width) {
  for (const auto& run : runs) {
    const auto row = rows.row_of(run.image, run.sequence, run.begin);
    std::copy_n(from, run.count * width, to + row * width);
    from += run.count * width;
  }
}

// One direction: `out` transfers read rows of `source` (held as `source_rows`), `in` transfers
// land in `target` (held as `target_rows`).
void exchange(const std::vector<Transfer>& out, const std::vector<Transfer>& in, const std::vector<sched::TokenRun>& local,
              const sched::RankRows& source_rows, const View& source, const sched::RankRows& target_rows, const View& target,
              std::int64_t width, comm::Transport& transport) {
  source.require(MemorySpace::host, "boundary exchange source");
  target.require(MemorySpace::host, "boundary exchange target");
  FLEXCP_CHECK(source.count == source_rows.rows * width, "boundary: the source buffer does not hold this rank's rows");
  FLEXCP_CHECK(target.count == target_rows.rows * width, "boundary: the target buffer does not hold this rank's rows");
  std::vector<std::vector<float>> sent(out.size()), received(in.size());
  comm::Stage stage;
  for (std::size_t i = 0; i < out.size(); ++i) {
    sent[i].resize(static_cast<std::size_t>(out[i].tokens * width));
    pack(out[i].runs, source_rows, source.floats(), sent[i].data(), width);
    stage.send({sent[i].data(), static_cast<std::int64_t>(sent[i].size())}, out[i].peer);
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    received[i].resize(static_cast<std::size_t>(in[i].tokens * width));
    stage.recv({received[i].data(), static_cast<std::int64_t>(received[i].size())}, in[i].peer);
  }
  auto ticket = transport.post(stage);
  for (const auto& run : local)  // overlaps the messages
    std::copy_n(source.floats() + source_rows.row_of(run.image, run.sequence, run.begin) * width, run.count * width,
                target.floats() + target_rows.row_of(run.image, run.sequence, run.begin) * width);
  transport.wait(ticket);
  for (std::size_t i = 0; i < in.size(); ++i) unpack(in[i].runs, target_rows, received[i].data(), target.floats(), width);
}
}  // namespace

void boundary_forward(const sched::BoundaryProgram& p, const View& encoder_out, const View& llm_in, std::int64_t width,
                      comm::Transport& transport) {
  exchange(p.sends, p.receives, p.local, p.encoder_rows, encoder_out, p.llm_rows, llm_in, width, transport);
}

void boundary_backward(const sched::BoundaryProgram& p, const View& llm_grad, const View& encoder_grad, std::int64_t width,
                       comm::Transport& transport) {
  exchange(p.receives, p.sends, p.local, p.llm_rows, llm_grad, p.encoder_rows, encoder_grad, width, transport);
}

}  // namespace flexcp::attn
