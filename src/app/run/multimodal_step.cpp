#include "app/run/multimodal_step.hpp"

#include <algorithm>
#include <map>

#include "attn/local_tensors.hpp"
#include "attn/synthetic_inputs.hpp"
#include "sched/boundary_traffic.hpp"
#include "common/clock.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp {

namespace {

// Calls visit(local token row, boundary row) for every image token of `shard` (LLM side).
template <typename Visit>
void for_image_tokens(const sched::MultimodalBatch& batch, const sched::RankRows& rows, const sched::RankShard& shard,
                      Visit visit) {
  for (const auto& seg : shard.segments)
    for (std::size_t i = 0; i < batch.images.size(); ++i) {
      const auto& image = batch.images[i];
      if (image.doc != seg.doc) continue;
      std::int64_t at = image.llm_begin;
      const auto& seqs = image.encoded.sequence_llm_tokens;
      for (std::size_t s = 0; s < seqs.size(); at += seqs[s], ++s)
        for (auto pos = std::max(seg.pos_begin, at); pos < std::min(seg.pos_begin + seg.length, at + seqs[s]); ++pos)
          visit(seg.local_begin + pos - seg.pos_begin,
                rows.row_of(static_cast<std::int32_t>(i), static_cast<std::int32_t>(s), pos - at));
    }
}

// Calls visit(boundary row, first patch row of the token in the encoder's buffer) for every
// image token this rank's encoder makes: its `merge` patches are consecutive rows of one piece.
template <typename Visit>
void for_encoder_tokens(const attn::EncoderShare& share, const sched::RankRows& rows, int merge, int class_tokens,
                        Visit visit) {
  std::map<std::pair<std::int32_t, std::int32_t>, const attn::EncoderSequence*> sequences;
  for (const auto& seq : share.sequences) sequences[{seq.image, seq.sequence}] = &seq;
  for (std::size_t r = 0; r < rows.runs.size(); ++r) {
    const auto& run = rows.runs[r];
    const auto* seq = sequences.at({run.image, run.sequence});
    for (std::int64_t t = 0; t < run.count; ++t) {
      const auto patch = class_tokens + (run.begin + t) * merge;
      const auto piece = std::find_if(seq->pieces.begin(), seq->pieces.end(), [&](const attn::PatchPiece& p) {
        return p.local_row >= 0 && p.begin <= patch && patch + merge <= p.begin + p.count;
      });
      FLEXCP_CHECK(piece != seq->pieces.end(), "multimodal step: the encoder does not hold the patches of image " +
                                                   std::to_string(run.image) + " token " + std::to_string(run.begin + t));
      visit(rows.first_row[r] + t, piece->local_row + patch - piece->begin);
    }
  }
}

double bytes_sent(comm::Transport& transport) { return transport.stats().bytes_sent; }

}  // namespace

attn::BoundaryGroup boundary_group(std::vector<int> ranks, int rank, comm::CommunicatorCache& cache) {
  attn::BoundaryGroup group;
  group.ranks = std::move(ranks);
  FLEXCP_CHECK(group.ranks.size() != 1, "boundary: a group of one rank exchanges nothing");
  if (group.ranks.empty()) return group;
  cache.prepare({group.ranks});
  if (std::binary_search(group.ranks.begin(), group.ranks.end(), rank)) group.collectives = &cache.get(group.ranks);
  return group;
}

float encoder_input(std::uint64_t seed, int tensor, std::int64_t image, std::int64_t sequence, std::int64_t patch, int head,
                    int dim) {
  std::uint64_t x = seed;
  for (const auto part : {static_cast<std::int64_t>(tensor), image, sequence, patch, static_cast<std::int64_t>(head),
                          static_cast<std::int64_t>(dim)})
    x = sched::splitmix64(x ^ static_cast<std::uint64_t>(part));
  return static_cast<float>(static_cast<double>(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

MultimodalStep execute_multimodal_step(const MultimodalStepInput& in, comm::Transport& transport,
                                       comm::CommunicatorCache& boundary_cache, LlmComm llm, attn::Kernels& kernels) {
  FLEXCP_CHECK((llm.transport == nullptr) == (llm.cache == nullptr), "multimodal step: the LLM needs a transport and a cache");
  const int me = transport.rank();
  const auto& eh = in.encoder_heads;
  const auto& lh = in.llm_heads;
  const std::int64_t patch_width = static_cast<std::int64_t>(eh.q_heads) * eh.head_dim;
  const std::int64_t q_width = static_cast<std::int64_t>(lh.q_heads) * lh.head_dim;
  const std::int64_t kv_width = static_cast<std::int64_t>(lh.kv_heads) * lh.head_dim;
  const std::int64_t token_width = q_width + 2 * kv_width;
  FLEXCP_CHECK(in.projector.in == in.merge * patch_width && in.projector.out == token_width,
               "multimodal step: the projector maps " + std::to_string(in.projector.in) + " -> " +
                   std::to_string(in.projector.out) + " values, the models need " + std::to_string(in.merge * patch_width) +
                   " -> " + std::to_string(token_width));
  MultimodalStep step;
  const auto llm_layout = sched::llm_image_layout(in.llm_plan, in.batch, in.llm_first_rank);
  step.boundary = sched::boundary_program(in.encoder_layout, llm_layout, me);
  const auto& program = step.boundary;

  // Encoder forward, then the projector on the tokens this rank's encoder made (making the
  // activations is not part of the step).
  step.encoder = attn::encoder_share(in.encoder_layout, in.batch, in.merge, in.class_tokens, me);
  const auto rows = step.encoder.rows;
  const auto patch_floats = static_cast<std::size_t>(rows * patch_width);
  std::vector<std::vector<float>> host(3, std::vector<float>(patch_floats));
  for (const auto& seq : step.encoder.sequences)
    for (const auto& piece : seq.pieces)
      for (std::int64_t t = 0; piece.local_row >= 0 && t < piece.count; ++t)
        for (int h = 0; h < eh.q_heads; ++h)
          for (int d = 0; d < eh.head_dim; ++d)
            for (int tensor = 0; tensor < 3; ++tensor)
              host[static_cast<std::size_t>(tensor)][static_cast<std::size_t>((piece.local_row + t) * patch_width +
                                                                               h * eh.head_dim + d)] =
                  encoder_input(in.seed, tensor, seq.image, seq.sequence, piece.begin + t, h, d);
  auto tensor = [&](const char* label) { return kernels.allocate(label, static_cast<std::int64_t>(patch_floats)); };
  auto q = tensor("encoder q"), k = tensor("encoder k"), v = tensor("encoder v"), out = tensor("encoder out"),
       dout = tensor("encoder dout"), dq = tensor("encoder dq"), dk = tensor("encoder dk"), dv = tensor("encoder dv");
  auto lse = kernels.allocate("encoder lse", rows * eh.q_heads);
  kernels.upload(host[0].data(), q.view());
  kernels.upload(host[1].data(), k.view());
  kernels.upload(host[2].data(), v.view());
  WallTimer encoder_timer;
  double encoder_bytes = bytes_sent(transport);
  attn::EncoderAttention encoder(step.encoder, eh, kernels, transport);
  encoder.forward(q.view(), k.view(), v.view(), out.view(), lse.view());
  step.encoder_out.resize(patch_floats);
  kernels.download(out.view(), step.encoder_out.data());
  // The projector's input rows: each image token's `merge` patches, consecutive rows of one piece.
  std::vector<attn::BlockCopy> to_tokens, to_patches;
  for_encoder_tokens(step.encoder, program.encoder_rows, in.merge, in.class_tokens, [&](std::int64_t row, std::int64_t p) {
    to_tokens.push_back({p * patch_width, row * in.projector.in, in.merge * patch_width, 1, 0, 0});
    to_patches.push_back({row * in.projector.in, p * patch_width, in.merge * patch_width, 1, 0, 0});
  });
  const std::int64_t image_rows = program.encoder_rows.rows;
  auto x = kernels.allocate("projector input", image_rows * in.projector.in);
  auto y = kernels.allocate("projector output", image_rows * token_width);
  kernels.copy(*kernels.prepare(std::move(to_tokens)), out.view(), x.view(), false);
  attn::Projector projector(in.projector, kernels);
  projector.forward(x.view(), y.view());
  kernels.synchronize();  // the projector's time is the encoder's
  step.encoder_cost = {encoder_timer.seconds(), bytes_sent(transport) - encoder_bytes};

  // Boundary forward: projector outputs into the LLM's rows, one all-to-all on the boundary's
  // group (its communicator made here, collectively, when the cache does not hold its set: the
  // boundary's time includes it, as the model charges it).
  WallTimer boundary_timer;
  const auto group = boundary_group(sched::boundary_ranks(in.encoder_layout, llm_layout, transport.size()), me, boundary_cache);
  step.boundary_ranks = group.ranks;
  const auto group_bytes = [&] { return group.collectives != nullptr ? group.collectives->stats().bytes_sent : 0.0; };
  const double boundary_bytes = group_bytes();
  auto llm_in = kernels.allocate("llm image rows", program.llm_rows.rows * token_width);
  attn::boundary_forward(program, group, y.view(), llm_in.view(), token_width, kernels);
  kernels.synchronize();
  double boundary_s = boundary_timer.seconds();
  const double boundary_forward_bytes = group_bytes() - boundary_bytes;

  // The LLM: the plan's executors, image rows from the boundary (block copies in the kernels'
  // space: a token's Q, then K and V into the [K block][V block] of the KV tensor).
  const auto patch = [&](const sched::RankShard& shard, attn::LocalTensors& t) {
    const auto tokens = shard.tokens();
    std::vector<attn::BlockCopy> q_rows, kv_rows;
    for_image_tokens(in.batch, program.llm_rows, shard, [&](std::int64_t local, std::int64_t row) {
      q_rows.push_back({row * token_width, local * q_width, q_width, 1, 0, 0});
      kv_rows.push_back({row * token_width + q_width, local * kv_width, kv_width, 1, 0, 0});                        // K
      kv_rows.push_back({row * token_width + q_width + kv_width, (tokens + local) * kv_width, kv_width, 1, 0, 0});  // V
    });
    kernels.copy(*kernels.prepare(std::move(q_rows)), llm_in.view(), t.q.view(), false);
    kernels.copy(*kernels.prepare(std::move(kv_rows)), llm_in.view(), t.kv.view(), false);
  };
  WallTimer llm_timer;
  if (llm.transport != nullptr) step.llm = execute_plan(in.llm_plan, lh, *llm.transport, *llm.cache, kernels, in.seed, patch);
  step.llm_cost = {llm_timer.seconds() - step.llm.io_s, step.llm.bytes_sent};

  // Backward: the image rows' dQ/dK/dV (the LLM's results, on the host) are the projector
  // outputs' gradients.
  boundary_timer = WallTimer();
  const double boundary_bytes_back = group_bytes();
  std::vector<float> llm_grad(static_cast<std::size_t>(llm_in.count()));
  for_image_tokens(in.batch, program.llm_rows, step.llm.step_shard, [&](std::int64_t local, std::int64_t row) {
    const auto dst = llm_grad.begin() + row * token_width;
    std::copy_n(step.llm.results.dq.begin() + local * q_width, q_width, dst);
    std::copy_n(step.llm.results.dk.begin() + local * kv_width, kv_width, dst + q_width);
    std::copy_n(step.llm.results.dv.begin() + local * kv_width, kv_width, dst + q_width + kv_width);
  });
  auto grad = kernels.allocate("llm image gradients", llm_in.count());
  auto y_grad = kernels.allocate("projector output gradient", y.count());
  kernels.upload(llm_grad.data(), grad.view());
  attn::boundary_backward(program, group, grad.view(), y_grad.view(), token_width, kernels);
  kernels.synchronize();
  boundary_s += boundary_timer.seconds();
  step.boundary_cost = {boundary_s, boundary_forward_bytes + group_bytes() - boundary_bytes_back};

  // Projector and encoder backward: class tokens get no gradient (the projector drops them).
  encoder_timer = WallTimer();
  encoder_bytes = bytes_sent(transport);
  auto dx = kernels.allocate("projector input gradient", x.count());
  projector.backward(y_grad.view(), dx.view());
  step.projector_grad = projector.gradients();
  kernels.fill(dout.view(), 0.0f);
  kernels.copy(*kernels.prepare(std::move(to_patches)), dx.view(), dout.view(), false);
  encoder.backward(q.view(), dout.view(), out.view(), lse.view(), dq.view(), dk.view(), dv.view());
  for (auto [src, dst] : {std::pair{&dq, &step.encoder_dq}, std::pair{&dk, &step.encoder_dk}, std::pair{&dv, &step.encoder_dv}}) {
    dst->resize(patch_floats);
    kernels.download(src->view(), dst->data());
  }
  step.encoder_cost.seconds += encoder_timer.seconds();
  step.encoder_cost.bytes_sent += bytes_sent(transport) - encoder_bytes;
  return step;
}

}  // namespace flexcp
