#pragma once
// One rank's part of a vision encoder's attention layer under the encoder's layout
// (sched::ImageTokenLayout): bidirectional attention within every image sequence, forward and
// backward, through Kernels (so once for every backend) and a comm::Transport.
//   - A rank holds the patches of its pieces of each sequence; piece (begin, count) of LLM
//     tokens covers patches [class + begin * merge, class + (begin + count) * merge), and the
//     piece at begin 0 also holds the class tokens.
//   - Every sequence a rank takes part in is assembled whole (K and V of all n patches): its own
//     pieces are copied, the other members' pieces received, one stage for the whole layer
//     (all-gather CP over the sequence's members). Each query piece is one fully visible slice
//     of n keys. A sequence held whole by one rank moves nothing.
//   - Backward: dK/dV partials for all n patches; the other members' rows go back to them
//     (one stage), and each member adds what it receives to its own rows.
// Messages of a rank pair are posted in one canonical order (sequence, piece) on both sides, so
// the transport's untagged matching holds (transport.hpp, rules 1-2).
#include <cstdint>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "comm/transport.hpp"
#include "sched/multimodal_batch.hpp"
#include "sched/token_layout.hpp"

namespace flexcp::attn {

// A piece of a sequence in patches.
struct PatchPiece {
  int rank = 0;
  std::int64_t begin = 0, count = 0;  // patch offsets in the sequence
  std::int64_t local_row = -1;        // row in this rank's buffer when this rank holds it
};

struct EncoderSequence {
  std::int32_t image = 0, sequence = 0;
  std::int64_t patches = 0;
  std::int64_t gathered_row = 0;      // where its K/V rows start in the gathered buffers
  std::vector<PatchPiece> pieces;     // ascending begin
  std::vector<int> members;           // distinct ranks, ascending
};

// The sequences `rank` takes part in, and its patch rows (own pieces in canonical order).
struct EncoderShare {
  std::vector<EncoderSequence> sequences;
  std::int64_t rows = 0;           // patches this rank holds
  std::int64_t gathered_rows = 0;  // sum of its sequences' patches
};
EncoderShare encoder_share(const sched::ImageTokenLayout& layout, const sched::MultimodalBatch& batch, int merge,
                           int class_tokens, int rank);

class EncoderAttention {
 public:
  EncoderAttention(EncoderShare share, const HeadLayout& heads, Kernels& kernels, comm::Transport& transport);
  const EncoderShare& share() const { return share_; }

  // q, dout: [rows][H][d]; k, v: [rows][H][d]; out; lse: [rows][H]. Keeps the gathered K/V.
  void forward(const View& q, const View& k, const View& v, const View& out, const View& lse);
  // dq, dk, dv (overwritten) for this rank's rows.
  void backward(const View& q, const View& dout, const View& out, const View& lse, const View& dq, const View& dk,
                const View& dv);

 private:
  View rows(const View& tensor, std::int64_t row, std::int64_t count) const;
  EncoderShare share_;
  HeadLayout heads_;
  Kernels& kernels_;
  comm::Transport& transport_;
  std::shared_ptr<const PreparedSlices> slices_;
  std::shared_ptr<const PreparedCopies> own_rows_;  // local rows -> gathered rows
  Buffer gathered_k_, gathered_v_;
};

}  // namespace flexcp::attn
