#include "app/run/multimodal_reference.hpp"

#include <cmath>

#include "attn/synthetic_inputs.hpp"

namespace flexcp {

namespace {

// One image sequence's encoder attention: forward, and backward once dO is known.
struct EncoderSequence {
  std::int64_t n = 0;
  int heads = 0, dim = 0;
  std::vector<double> q, k, v, p;  // p: [h][i][j] softmax probabilities
  EncoderSequenceResult result;
  std::size_t at(std::int64_t t, int h, int d) const { return static_cast<std::size_t>((t * heads + h) * dim + d); }

  void forward() {
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    p.assign(static_cast<std::size_t>(heads * n * n), 0.0);
    result.out.assign(q.size(), 0.0);
    for (int h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < n; ++i) {
        double* row = p.data() + (h * n + i) * n;
        double m = -1e300, sum = 0.0;
        for (std::int64_t j = 0; j < n; ++j) {
          double s = 0.0;
          for (int d = 0; d < dim; ++d) s += q[at(i, h, d)] * k[at(j, h, d)];
          m = std::max(m, row[j] = s * scale);
        }
        for (std::int64_t j = 0; j < n; ++j) sum += (row[j] = std::exp(row[j] - m));
        for (std::int64_t j = 0; j < n; ++j) {
          row[j] /= sum;
          for (int d = 0; d < dim; ++d) result.out[at(i, h, d)] += row[j] * v[at(j, h, d)];
        }
      }
  }
  void backward(const std::vector<double>& dout) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    result.dq.assign(q.size(), 0.0);
    result.dk = result.dv = result.dq;
    for (int h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < n; ++i) {
        const double* row = p.data() + (h * n + i) * n;
        double rowsum = 0.0;
        for (int d = 0; d < dim; ++d) rowsum += dout[at(i, h, d)] * result.out[at(i, h, d)];
        for (std::int64_t j = 0; j < n; ++j) {
          double dp = 0.0;
          for (int d = 0; d < dim; ++d) dp += dout[at(i, h, d)] * v[at(j, h, d)];
          const double ds = row[j] * (dp - rowsum) * scale;
          for (int d = 0; d < dim; ++d) {
            result.dq[at(i, h, d)] += ds * k[at(j, h, d)];
            result.dk[at(j, h, d)] += ds * q[at(i, h, d)];
            result.dv[at(j, h, d)] += row[j] * dout[at(i, h, d)];
          }
        }
      }
  }
};

}  // namespace

MultimodalReference multimodal_reference(const MultimodalStepInput& in) {
  const auto& w = in.projector;
  const auto& eh = in.encoder_heads;
  const auto& lh = in.llm_heads;
  const std::int64_t patch_width = static_cast<std::int64_t>(eh.q_heads) * eh.head_dim;
  const std::int64_t q_width = static_cast<std::int64_t>(lh.q_heads) * lh.head_dim;
  const std::int64_t kv_width = static_cast<std::int64_t>(lh.kv_heads) * lh.head_dim;
  const auto offsets = in.batch.llm.doc_offsets();
  MultimodalReference ref;

  // Encoder forward, projector forward; image token (image, sequence, t) -> its row of x/h/y.
  struct Token {
    EncoderSequence* seq;
    std::int64_t first_patch, global;
  };
  std::map<std::pair<int, int>, EncoderSequence> sequences;
  std::vector<Token> tokens;
  for (std::size_t i = 0; i < in.batch.images.size(); ++i) {
    const auto& image = in.batch.images[i];
    std::int64_t at = offsets[static_cast<std::size_t>(image.doc)] + image.llm_begin;
    for (std::size_t s = 0; s < image.encoded.sequence_patches.size(); ++s) {
      auto& seq = sequences[{static_cast<int>(i), static_cast<int>(s)}];
      seq.n = image.encoded.sequence_patches[s];
      seq.heads = eh.q_heads;
      seq.dim = eh.head_dim;
      for (auto* t : {&seq.q, &seq.k, &seq.v}) t->resize(static_cast<std::size_t>(seq.n * patch_width));
      for (std::int64_t p = 0; p < seq.n; ++p)
        for (int h = 0; h < eh.q_heads; ++h)
          for (int d = 0; d < eh.head_dim; ++d) {
            seq.q[seq.at(p, h, d)] = encoder_input(in.seed, 0, static_cast<std::int64_t>(i), static_cast<std::int64_t>(s), p, h, d);
            seq.k[seq.at(p, h, d)] = encoder_input(in.seed, 1, static_cast<std::int64_t>(i), static_cast<std::int64_t>(s), p, h, d);
            seq.v[seq.at(p, h, d)] = encoder_input(in.seed, 2, static_cast<std::int64_t>(i), static_cast<std::int64_t>(s), p, h, d);
          }
      seq.forward();
      for (std::int64_t t = 0; t < image.encoded.sequence_llm_tokens[s]; ++t)
        tokens.push_back({&seq, in.class_tokens + t * in.merge, at + t});
      at += image.encoded.sequence_llm_tokens[s];
    }
  }
  const auto n_tokens = static_cast<std::int64_t>(tokens.size());
  auto wi = [](const std::vector<float>& m, std::int64_t r, std::int64_t c, std::int64_t cols) {
    return static_cast<double>(m[static_cast<std::size_t>(r * cols + c)]);
  };
  std::vector<double> x(static_cast<std::size_t>(n_tokens * w.in)), pre(static_cast<std::size_t>(n_tokens * w.hidden)),
      y(static_cast<std::size_t>(n_tokens * w.out));
  for (std::int64_t r = 0; r < n_tokens; ++r) {
    const auto& tok = tokens[static_cast<std::size_t>(r)];
    for (std::int64_t c = 0; c < w.in; ++c)
      x[static_cast<std::size_t>(r * w.in + c)] = tok.seq->result.out[static_cast<std::size_t>(tok.first_patch * patch_width + c)];
    for (std::int64_t j = 0; j < w.hidden; ++j) {
      double s = w.b1[static_cast<std::size_t>(j)];
      for (std::int64_t c = 0; c < w.in; ++c) s += x[static_cast<std::size_t>(r * w.in + c)] * wi(w.w1, c, j, w.hidden);
      pre[static_cast<std::size_t>(r * w.hidden + j)] = s;
    }
    for (std::int64_t o = 0; o < w.out; ++o) {
      double s = w.b2[static_cast<std::size_t>(o)];
      for (std::int64_t j = 0; j < w.hidden; ++j)
        s += attn::gelu(pre[static_cast<std::size_t>(r * w.hidden + j)]) * wi(w.w2, j, o, w.out);
      y[static_cast<std::size_t>(r * w.out + o)] = s;
    }
  }

  // The LLM: synthetic text activations, image tokens' Q/K/V from the projector.
  auto global = attn::synthetic_global_inputs(in.batch.llm.total_tokens(), lh, in.seed);
  for (std::int64_t r = 0; r < n_tokens; ++r) {
    const auto g = tokens[static_cast<std::size_t>(r)].global;
    for (std::int64_t c = 0; c < q_width; ++c) global.q[static_cast<std::size_t>(g * q_width + c)] = static_cast<float>(y[static_cast<std::size_t>(r * w.out + c)]);
    for (std::int64_t c = 0; c < kv_width; ++c) {
      global.k[static_cast<std::size_t>(g * kv_width + c)] = static_cast<float>(y[static_cast<std::size_t>(r * w.out + q_width + c)]);
      global.v[static_cast<std::size_t>(g * kv_width + c)] =
          static_cast<float>(y[static_cast<std::size_t>(r * w.out + q_width + kv_width + c)]);
    }
  }
  ref.llm = attn::reference_attention(in.batch.llm, lh, global);

  // Projector backward, then each sequence's encoder backward (class tokens: zero gradient).
  ref.dw1.assign(w.w1.size(), 0.0);
  ref.db1.assign(w.b1.size(), 0.0);
  ref.dw2.assign(w.w2.size(), 0.0);
  ref.db2.assign(w.b2.size(), 0.0);
  std::map<const EncoderSequence*, std::vector<double>> dout;
  for (auto& [key, seq] : sequences) dout[&seq].assign(seq.q.size(), 0.0);
  std::vector<double> dy(static_cast<std::size_t>(w.out)), dpre(static_cast<std::size_t>(w.hidden));
  for (std::int64_t r = 0; r < n_tokens; ++r) {
    const auto& tok = tokens[static_cast<std::size_t>(r)];
    for (std::int64_t c = 0; c < q_width; ++c) dy[static_cast<std::size_t>(c)] = ref.llm.dq[static_cast<std::size_t>(tok.global * q_width + c)];
    for (std::int64_t c = 0; c < kv_width; ++c) {
      dy[static_cast<std::size_t>(q_width + c)] = ref.llm.dk[static_cast<std::size_t>(tok.global * kv_width + c)];
      dy[static_cast<std::size_t>(q_width + kv_width + c)] = ref.llm.dv[static_cast<std::size_t>(tok.global * kv_width + c)];
    }
    for (std::int64_t j = 0; j < w.hidden; ++j) {
      const double a = pre[static_cast<std::size_t>(r * w.hidden + j)];
      double dh = 0.0;
      for (std::int64_t o = 0; o < w.out; ++o) {
        dh += dy[static_cast<std::size_t>(o)] * wi(w.w2, j, o, w.out);
        ref.dw2[static_cast<std::size_t>(j * w.out + o)] += attn::gelu(a) * dy[static_cast<std::size_t>(o)];
      }
      dpre[static_cast<std::size_t>(j)] = dh * attn::gelu_derivative(a);
      ref.db1[static_cast<std::size_t>(j)] += dpre[static_cast<std::size_t>(j)];
    }
    for (std::int64_t o = 0; o < w.out; ++o) ref.db2[static_cast<std::size_t>(o)] += dy[static_cast<std::size_t>(o)];
    auto& d = dout[tok.seq];
    for (std::int64_t c = 0; c < w.in; ++c) {
      double dx = 0.0;
      for (std::int64_t j = 0; j < w.hidden; ++j) {
        dx += dpre[static_cast<std::size_t>(j)] * wi(w.w1, c, j, w.hidden);
        ref.dw1[static_cast<std::size_t>(c * w.hidden + j)] += x[static_cast<std::size_t>(r * w.in + c)] * dpre[static_cast<std::size_t>(j)];
      }
      d[static_cast<std::size_t>(tok.first_patch * patch_width + c)] = dx;
    }
  }
  for (auto& [key, seq] : sequences) {
    seq.backward(dout[&seq]);
    ref.encoder[key] = std::move(seq.result);
  }
  return ref;
}

}  // namespace flexcp
