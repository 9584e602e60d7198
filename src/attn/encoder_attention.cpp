#include "attn/encoder_attention.hpp"

#include <algorithm>
#include <limits>

#include "attn/slice.hpp"

namespace flexcp::attn {

EncoderShare encoder_share(const sched::ImageTokenLayout& layout, const sched::MultimodalBatch& batch, int merge,
                           int class_tokens, int rank) {
  EncoderShare share;
  for (std::size_t i = 0; i < layout.size(); ++i)
    for (std::size_t s = 0; s < layout[i].size(); ++s) {
      const auto& pieces = layout[i][s];
      if (std::none_of(pieces.begin(), pieces.end(), [&](const sched::TokenPiece& p) { return p.rank == rank; })) continue;
      EncoderSequence seq{static_cast<std::int32_t>(i), static_cast<std::int32_t>(s),
                          batch.images[i].encoded.sequence_patches[s], share.gathered_rows, {}, {}};
      for (const auto& p : pieces) {
        const auto begin = p.begin == 0 ? 0 : class_tokens + p.begin * merge;
        const auto end = class_tokens + (p.begin + p.count) * merge;
        PatchPiece piece{p.rank, begin, end - begin, -1};
        if (p.rank == rank) {
          piece.local_row = share.rows;
          share.rows += piece.count;
        }
        seq.pieces.push_back(piece);
        if (std::find(seq.members.begin(), seq.members.end(), p.rank) == seq.members.end()) seq.members.push_back(p.rank);
      }
      FLEXCP_CHECK(seq.pieces.back().begin + seq.pieces.back().count == seq.patches,
                   "encoder layout: the pieces of image " + std::to_string(i) + " do not cover its patches");
      std::sort(seq.members.begin(), seq.members.end());
      share.gathered_rows += seq.patches;
      share.sequences.push_back(std::move(seq));
    }
  return share;
}

EncoderAttention::EncoderAttention(EncoderShare share, const HeadLayout& heads, Kernels& kernels, comm::Transport& transport)
    : share_(std::move(share)), heads_(heads), kernels_(kernels), transport_(transport) {
  FLEXCP_CHECK(heads.q_heads == heads.kv_heads, "encoder attention is multi-head (q_heads == kv_heads)");
  SliceSet set;
  std::vector<BlockCopy> copies;
  const std::int64_t width = heads.kv_heads * static_cast<std::int64_t>(heads.head_dim);
  for (const auto& seq : share_.sequences) {
    SliceGroup keys{seq.gathered_row, seq.patches, {}};
    for (const auto& p : seq.pieces) {
      if (p.local_row < 0) continue;
      // Every query sees every key of its sequence: diag >= k_len - 1 makes the slice fully visible.
      set.slices.push_back({p.local_row, p.count, seq.gathered_row, seq.patches, seq.patches});
      const auto index = static_cast<std::int32_t>(set.slices.size() - 1);
      set.by_query.push_back({p.local_row, p.count, {index}});
      keys.slices.push_back(index);
      copies.push_back({p.local_row * width, (seq.gathered_row + p.begin) * width, p.count * width, 1, 0, 0});
    }
    set.by_key.push_back(std::move(keys));
  }
  slices_ = kernels_.prepare(std::move(set));
  own_rows_ = kernels_.prepare(std::move(copies));
  gathered_k_ = kernels_.allocate("encoder gathered K", share_.gathered_rows * width);
  gathered_v_ = kernels_.allocate("encoder gathered V", share_.gathered_rows * width);
}

View EncoderAttention::rows(const View& tensor, std::int64_t row, std::int64_t count) const {
  const std::int64_t width = heads_.kv_heads * static_cast<std::int64_t>(heads_.head_dim);
  return tensor.slice(row * width, count * width);
}

void EncoderAttention::forward(const View& q, const View& k, const View& v, const View& out, const View& lse) {
  const int me = transport_.rank();
  kernels_.copy(*own_rows_, k, gathered_k_.view(), false);
  kernels_.copy(*own_rows_, v, gathered_v_.view(), false);
  // All-gather over each sequence's members: own pieces to every other member, theirs into place.
  comm::Stage stage;
  for (const auto& seq : share_.sequences)
    for (const auto& p : seq.pieces)
      for (int member : seq.members) {
        if (member == p.rank) continue;
        if (p.rank == me) {
          stage.send(rows(k, p.local_row, p.count), member).send(rows(v, p.local_row, p.count), member);
        } else if (member == me) {
          stage.recv(rows(gathered_k_.view(), seq.gathered_row + p.begin, p.count), p.rank)
              .recv(rows(gathered_v_.view(), seq.gathered_row + p.begin, p.count), p.rank);
        }
      }
  auto ticket = transport_.post(stage);
  transport_.wait(ticket);
  kernels_.forward_partial(heads_, *slices_, q, gathered_k_.view(), gathered_v_.view(), out, lse);
}

void EncoderAttention::backward(const View& q, const View& dout, const View& out, const View& lse, const View& dq,
                                const View& dk, const View& dv) {
  const int me = transport_.rank();
  const std::int64_t width = heads_.kv_heads * static_cast<std::int64_t>(heads_.head_dim);
  auto rowsum = kernels_.allocate("encoder rowsum", share_.rows * heads_.q_heads);
  auto dk_all = kernels_.allocate("encoder gathered dK", share_.gathered_rows * width);
  auto dv_all = kernels_.allocate("encoder gathered dV", share_.gathered_rows * width);
  kernels_.softmax_backward_rowsum(heads_, out, dout, rowsum.view());
  kernels_.fill(dq, 0.0f);
  kernels_.fill(dk_all.view(), 0.0f);
  kernels_.fill(dv_all.view(), 0.0f);
  kernels_.backward_accumulate(heads_, *slices_, q, gathered_k_.view(), gathered_v_.view(), out, dout, lse, rowsum.view(), dq,
                               dk_all.view(), dv_all.view());
  // Own rows' partials from here; the other members' partials of them arrive, one stage.
  std::vector<BlockCopy> back;
  for (const auto& seq : share_.sequences)
    for (const auto& p : seq.pieces)
      if (p.local_row >= 0) back.push_back({(seq.gathered_row + p.begin) * width, p.local_row * width, p.count * width, 1, 0, 0});
  const auto own = kernels_.prepare(std::move(back));
  kernels_.copy(*own, dk_all.view(), dk, false);
  kernels_.copy(*own, dv_all.view(), dv, false);
  struct Arrival {
    std::int64_t local_row, count;
  };
  std::vector<Arrival> arrivals;
  std::int64_t received_rows = 0;
  for (const auto& seq : share_.sequences)
    for (const auto& p : seq.pieces)
      if (p.local_row >= 0)
        for (int member : seq.members)
          if (member != me) {
            arrivals.push_back({p.local_row, p.count});
            received_rows += p.count;
          }
  auto inbox_k = kernels_.allocate("encoder dK partials", received_rows * width);
  auto inbox_v = kernels_.allocate("encoder dV partials", received_rows * width);
  comm::Stage stage;
  std::int64_t at = 0;
  for (const auto& seq : share_.sequences)
    for (const auto& p : seq.pieces) {
      if (p.rank != me) {  // its owner's rows, from my queries
        stage.send(rows(dk_all.view(), seq.gathered_row + p.begin, p.count), p.rank)
            .send(rows(dv_all.view(), seq.gathered_row + p.begin, p.count), p.rank);
        continue;
      }
      for (int member : seq.members)
        if (member != me) {
          stage.recv(rows(inbox_k.view(), at, p.count), member).recv(rows(inbox_v.view(), at, p.count), member);
          at += p.count;
        }
    }
  auto ticket = transport_.post(stage);
  transport_.wait(ticket);
  at = 0;
  for (const auto& a : arrivals) {
    kernels_.accumulate(rows(dk, a.local_row, a.count), rows(inbox_k.view(), at, a.count));
    kernels_.accumulate(rows(dv, a.local_row, a.count), rows(inbox_v.view(), at, a.count));
    at += a.count;
  }
}

}  // namespace flexcp::attn
