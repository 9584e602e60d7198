#include "attn/reference.hpp"

#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace flexcp::attn {

ReferenceResult reference_attention(const sched::Batch& batch, const HeadLayout& layout,
                                    const GlobalTensors& in) {
  const auto tokens = static_cast<std::size_t>(batch.total_tokens());
  const std::size_t hq = static_cast<std::size_t>(layout.q_heads), hkv = static_cast<std::size_t>(layout.kv_heads),
                    dim = static_cast<std::size_t>(layout.head_dim), group = hq / hkv;
  FLEXCP_CHECK(in.q.size() == tokens * hq * dim && in.k.size() == tokens * hkv * dim &&
                   in.v.size() == in.k.size() && in.dout.size() == in.q.size(),
               "reference inputs do not match the batch and head layout");
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  auto qi = [&](std::size_t t, std::size_t h) { return (t * hq + h) * dim; };
  auto ki = [&](std::size_t t, std::size_t h) { return (t * hkv + h) * dim; };

  ReferenceResult r;
  r.out.assign(tokens * hq * dim, 0.0);
  r.lse.assign(tokens * hq, 0.0);
  r.dq.assign(tokens * hq * dim, 0.0);
  r.dk.assign(tokens * hkv * dim, 0.0);
  r.dv.assign(tokens * hkv * dim, 0.0);

  std::vector<double> p, dp;
  const auto offsets = batch.doc_offsets();
  for (std::size_t doc = 0; doc < batch.doc_lengths.size(); ++doc) {
    const auto start = static_cast<std::size_t>(offsets[doc]);
    const auto length = static_cast<std::size_t>(batch.doc_lengths[doc]);
    for (std::size_t h = 0; h < hq; ++h) {
      const std::size_t g = h / group;
      for (std::size_t i = start; i < start + length; ++i) {
        const std::size_t keys = i - start + 1;  // causal inside the document
        p.assign(keys, 0.0);
        double max_score = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < keys; ++j) {
          double s = 0.0;
          for (std::size_t d = 0; d < dim; ++d) s += double(in.q[qi(i, h) + d]) * double(in.k[ki(start + j, g) + d]);
          p[j] = s * scale;
          max_score = std::max(max_score, p[j]);
        }
        double sum = 0.0;
        for (auto& x : p) sum += (x = std::exp(x - max_score));
        for (auto& x : p) x /= sum;
        r.lse[i * hq + h] = max_score + std::log(sum);
        for (std::size_t j = 0; j < keys; ++j)
          for (std::size_t d = 0; d < dim; ++d) r.out[qi(i, h) + d] += p[j] * double(in.v[ki(start + j, g) + d]);
        // Backward: dP = dO V^T, dS = P (dP - rowsum(dO O)), dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO.
        double rowsum = 0.0;
        for (std::size_t d = 0; d < dim; ++d) rowsum += double(in.dout[qi(i, h) + d]) * r.out[qi(i, h) + d];
        dp.assign(keys, 0.0);
        for (std::size_t j = 0; j < keys; ++j) {
          double s = 0.0;
          for (std::size_t d = 0; d < dim; ++d) s += double(in.dout[qi(i, h) + d]) * double(in.v[ki(start + j, g) + d]);
          dp[j] = p[j] * (s - rowsum);
        }
        for (std::size_t j = 0; j < keys; ++j)
          for (std::size_t d = 0; d < dim; ++d) {
            r.dq[qi(i, h) + d] += scale * dp[j] * double(in.k[ki(start + j, g) + d]);
            r.dk[ki(start + j, g) + d] += scale * dp[j] * double(in.q[qi(i, h) + d]);
            r.dv[ki(start + j, g) + d] += p[j] * double(in.dout[qi(i, h) + d]);
          }
      }
    }
  }
  return r;
}

double relative_error(const std::vector<float>& a, const std::vector<double>& ref) {
  FLEXCP_CHECK(a.size() == ref.size(), "compared tensors differ in size");
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
    const double e = double(a[i]) - ref[i];
    diff += e * e;
    norm += ref[i] * ref[i];
  }
  return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace flexcp::attn
