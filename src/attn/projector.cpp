#include "attn/projector.hpp"

#include <cmath>

#include "common/error.hpp"
#include "sched/batch_sampler.hpp"

namespace flexcp::attn {

namespace {
constexpr double kSqrt2OverPi = 0.7978845608028654, kCubic = 0.044715;

std::vector<float> uniform(std::size_t n, double scale, std::uint64_t seed) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = sched::splitmix64(seed * 0x9e3779b97f4a7c15ULL + i);
    out[i] = static_cast<float>(scale * (static_cast<double>(x >> 11) / 9007199254740992.0 * 2.0 - 1.0));
  }
  return out;
}

// c[r][j] = b[j] + sum_i a[r][i] m[i][j]: a row-major GEMM with double accumulation.
void affine(const float* a, const std::vector<float>& m, const std::vector<float>& b, std::int64_t rows, std::int64_t in,
            std::int64_t out, float* c) {
  std::vector<double> acc(static_cast<std::size_t>(out));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < out; ++j) acc[static_cast<std::size_t>(j)] = b[static_cast<std::size_t>(j)];
    for (std::int64_t i = 0; i < in; ++i) {
      const double x = a[r * in + i];
      const float* row = m.data() + i * out;
      for (std::int64_t j = 0; j < out; ++j) acc[static_cast<std::size_t>(j)] += x * row[j];
    }
    for (std::int64_t j = 0; j < out; ++j) c[r * out + j] = static_cast<float>(acc[static_cast<std::size_t>(j)]);
  }
}

// Backward of affine: da = dc m^T (overwritten), dm += a^T dc, db += sum_r dc.
void affine_backward(const float* a, const float* dc, const std::vector<float>& m, std::int64_t rows, std::int64_t in,
                     std::int64_t out, float* da, std::vector<float>& dm, std::vector<float>& db) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t i = 0; i < in; ++i) {
      double s = 0.0;
      for (std::int64_t j = 0; j < out; ++j) s += static_cast<double>(dc[r * out + j]) * m[static_cast<std::size_t>(i * out + j)];
      da[r * in + i] = static_cast<float>(s);
    }
  for (std::int64_t i = 0; i < in; ++i)
    for (std::int64_t j = 0; j < out; ++j) {
      double s = 0.0;
      for (std::int64_t r = 0; r < rows; ++r) s += static_cast<double>(a[r * in + i]) * dc[r * out + j];
      dm[static_cast<std::size_t>(i * out + j)] += static_cast<float>(s);
    }
  for (std::int64_t j = 0; j < out; ++j) {
    double s = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) s += dc[r * out + j];
    db[static_cast<std::size_t>(j)] += static_cast<float>(s);
  }
}
}  // namespace

double gelu(double a) { return 0.5 * a * (1.0 + std::tanh(kSqrt2OverPi * (a + kCubic * a * a * a))); }
double gelu_derivative(double a) {
  const double t = std::tanh(kSqrt2OverPi * (a + kCubic * a * a * a));
  return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kCubic * a * a);
}

ProjectorWeights projector_weights(std::int64_t in, std::int64_t hidden, std::int64_t out, std::uint64_t seed) {
  FLEXCP_CHECK(in > 0 && hidden > 0 && out > 0, "projector: every dimension must be positive");
  const auto n = [](std::int64_t a, std::int64_t b) { return static_cast<std::size_t>(a * b); };
  return {in,
          hidden,
          out,
          uniform(n(in, hidden), 1.0 / std::sqrt(static_cast<double>(in)), seed * 4 + 0),
          uniform(n(1, hidden), 0.1, seed * 4 + 1),
          uniform(n(hidden, out), 1.0 / std::sqrt(static_cast<double>(hidden)), seed * 4 + 2),
          uniform(n(1, out), 0.1, seed * 4 + 3)};
}

Projector::Projector(const ProjectorWeights& weights) : w_(weights) {
  grad_ = {w_.in, w_.hidden, w_.out, std::vector<float>(w_.w1.size()), std::vector<float>(w_.b1.size()),
           std::vector<float>(w_.w2.size()), std::vector<float>(w_.b2.size())};
}

void Projector::forward(const std::vector<float>& x, std::vector<float>& y) {
  FLEXCP_CHECK(static_cast<std::int64_t>(x.size()) % w_.in == 0,
               "projector: input of " + std::to_string(x.size()) + " values is not rows of " + std::to_string(w_.in));
  rows_ = static_cast<std::int64_t>(x.size()) / w_.in;
  x_ = x;
  pre_.resize(static_cast<std::size_t>(rows_ * w_.hidden));
  affine(x_.data(), w_.w1, w_.b1, rows_, w_.in, w_.hidden, pre_.data());
  std::vector<float> h(pre_.size());
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>(gelu(pre_[i]));
  y.resize(static_cast<std::size_t>(rows_ * w_.out));
  affine(h.data(), w_.w2, w_.b2, rows_, w_.hidden, w_.out, y.data());
}

void Projector::backward(const std::vector<float>& dy, std::vector<float>& dx) {
  FLEXCP_CHECK(static_cast<std::int64_t>(dy.size()) == rows_ * w_.out, "projector: the gradient is not the last forward's shape");
  std::vector<float> h(pre_.size()), dh(pre_.size());
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<float>(gelu(pre_[i]));
  affine_backward(h.data(), dy.data(), w_.w2, rows_, w_.hidden, w_.out, dh.data(), grad_.w2, grad_.b2);
  for (std::size_t i = 0; i < dh.size(); ++i) dh[i] = static_cast<float>(dh[i] * gelu_derivative(pre_[i]));
  dx.resize(static_cast<std::size_t>(rows_ * w_.in));
  affine_backward(x_.data(), dh.data(), w_.w1, rows_, w_.in, w_.hidden, dx.data(), grad_.w1, grad_.b1);
}

}  // namespace flexcp::attn
