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

Projector::Projector(const ProjectorWeights& weights, Kernels& kernels)
    : kernels_(kernels), in_(weights.in), hidden_(weights.hidden), out_(weights.out) {
  FLEXCP_CHECK(in_ > 0 && hidden_ > 0 && out_ > 0, "projector: every dimension must be positive");
  FLEXCP_CHECK(weights.w1.size() == static_cast<std::size_t>(in_ * hidden_) && weights.b1.size() == static_cast<std::size_t>(hidden_) &&
                   weights.w2.size() == static_cast<std::size_t>(hidden_ * out_) && weights.b2.size() == static_cast<std::size_t>(out_),
               "projector: the weights do not have the shapes " + std::to_string(in_) + " -> " + std::to_string(hidden_) +
                   " -> " + std::to_string(out_));
  w_ = upload(weights, false);
  grad_ = upload(weights, true);
}

Projector::Parameters Projector::upload(const ProjectorWeights& w, bool zero) {
  Parameters p;
  const std::pair<Buffer*, const std::vector<float>*> parts[] = {{&p.w1, &w.w1}, {&p.b1, &w.b1}, {&p.w2, &w.w2}, {&p.b2, &w.b2}};
  for (const auto& [buffer, values] : parts) {
    *buffer = kernels_.allocate(zero ? "projector gradient" : "projector weight", static_cast<std::int64_t>(values->size()));
    if (zero) kernels_.fill(buffer->view(), 0.0f);
    else kernels_.upload(values->data(), buffer->view());
  }
  return p;
}

void Projector::forward(const View& x, const View& y) {
  FLEXCP_CHECK(x.count % in_ == 0, "projector: input of " + std::to_string(x.count) + " values is not rows of " + std::to_string(in_));
  rows_ = x.count / in_;
  FLEXCP_CHECK(y.count == rows_ * out_, "projector: an output of " + std::to_string(y.count) + " values for " +
                                            std::to_string(rows_) + " rows of " + std::to_string(out_));
  x_ = kernels_.allocate("projector input", x.count);
  kernels_.copy(*kernels_.prepare(std::vector<BlockCopy>{BlockCopy{0, 0, x.count, 1, 0, 0}}), x, x_.view(), false);
  pre_ = kernels_.allocate("projector pre-activation", rows_ * hidden_);
  h_ = kernels_.allocate("projector activation", rows_ * hidden_);
  kernels_.gemm(false, false, rows_, hidden_, in_, x_.view(), w_.w1.view(), pre_.view(), false);
  kernels_.add_bias(pre_.view(), w_.b1.view());
  kernels_.gelu(pre_.view(), h_.view());
  kernels_.gemm(false, false, rows_, out_, hidden_, h_.view(), w_.w2.view(), y, false);
  kernels_.add_bias(y, w_.b2.view());
}

void Projector::backward(const View& dy, const View& dx) {
  FLEXCP_CHECK(dy.count == rows_ * out_, "projector: the gradient is not the last forward's shape");
  FLEXCP_CHECK(dx.count == rows_ * in_, "projector: the input gradient is not the last forward's input shape");
  // Second layer: dW2 += h^T dy, db2 += rows' sum of dy, dh = dy W2^T.
  kernels_.gemm(true, false, hidden_, out_, rows_, h_.view(), dy, grad_.w2.view(), true);
  kernels_.bias_gradient(dy, grad_.b2.view());
  auto dh = kernels_.allocate("projector activation gradient", rows_ * hidden_);
  kernels_.gemm(false, true, rows_, hidden_, out_, dy, w_.w2.view(), dh.view(), false);
  kernels_.gelu_backward(pre_.view(), dh.view(), dh.view());
  // First layer: dW1 += x^T dpre, db1 += rows' sum of dpre, dx = dpre W1^T.
  kernels_.gemm(true, false, in_, hidden_, rows_, x_.view(), dh.view(), grad_.w1.view(), true);
  kernels_.bias_gradient(dh.view(), grad_.b1.view());
  kernels_.gemm(false, true, rows_, in_, hidden_, dh.view(), w_.w1.view(), dx, false);
}

void Projector::forward(const std::vector<float>& x, std::vector<float>& y) {
  FLEXCP_CHECK(static_cast<std::int64_t>(x.size()) % in_ == 0,
               "projector: input of " + std::to_string(x.size()) + " values is not rows of " + std::to_string(in_));
  const auto rows = static_cast<std::int64_t>(x.size()) / in_;
  auto dx = kernels_.allocate("projector input", rows * in_), dy = kernels_.allocate("projector output", rows * out_);
  kernels_.upload(x.data(), dx.view());
  forward(dx.view(), dy.view());
  y.resize(static_cast<std::size_t>(rows * out_));
  kernels_.download(dy.view(), y.data());
}

void Projector::backward(const std::vector<float>& dy, std::vector<float>& dx) {
  FLEXCP_CHECK(static_cast<std::int64_t>(dy.size()) == rows_ * out_, "projector: the gradient is not the last forward's shape");
  auto g = kernels_.allocate("projector output gradient", rows_ * out_), d = kernels_.allocate("projector input gradient", rows_ * in_);
  kernels_.upload(dy.data(), g.view());
  backward(g.view(), d.view());
  dx.resize(static_cast<std::size_t>(rows_ * in_));
  kernels_.download(d.view(), dx.data());
}

ProjectorWeights Projector::gradients() {
  ProjectorWeights out{in_, hidden_, out_, {}, {}, {}, {}};
  const std::pair<const Buffer*, std::vector<float>*> parts[] = {
      {&grad_.w1, &out.w1}, {&grad_.b1, &out.b1}, {&grad_.w2, &out.w2}, {&grad_.b2, &out.b2}};
  for (const auto& [buffer, values] : parts) {
    values->resize(static_cast<std::size_t>(buffer->count()));
    kernels_.download(buffer->view(), values->data());
  }
  return out;
}

}  // namespace flexcp::attn
