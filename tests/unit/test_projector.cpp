// The multimodal projector's backward against central finite differences of its forward: the
// input gradient and every weight gradient, for a loss sum(y * g) with a fixed g.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attn/host_backend.hpp"
#include "attn/projector.hpp"
#include "common/error.hpp"

using namespace flexcp;

namespace {
double loss(attn::ProjectorWeights& w, const std::vector<float>& x, const std::vector<float>& g) {
  attn::HostKernels kernels;
  attn::Projector p(w, kernels);
  std::vector<float> y;
  p.forward(x, y);
  double s = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * g[i];
  return s;
}

// Largest |analytic - numeric| over the entries of `values`, relative to the largest |numeric|.
double worst(std::vector<float>& values, const std::vector<float>& analytic, const std::function<double()>& f) {
  constexpr float eps = 1e-2f;
  double diff = 0.0, scale = 1e-12;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float keep = values[i];
    values[i] = keep + eps;
    const double up = f();
    values[i] = keep - eps;
    const double down = f();
    values[i] = keep;
    const double numeric = (up - down) / (2.0 * eps);
    diff = std::max(diff, std::abs(numeric - analytic[i]));
    scale = std::max(scale, std::abs(numeric));
  }
  return diff / scale;
}
}  // namespace

TEST(Projector, BackwardMatchesFiniteDifferences) {
  auto w = attn::projector_weights(6, 5, 4, 3);
  const auto x0 = attn::projector_weights(3, 6, 1, 9).w1;  // 3 rows of 6 inputs, uniform values
  auto x = std::vector<float>(x0.begin(), x0.end());
  for (auto& v : x) v *= 3.0f;  // reach GELU's curved part
  const auto g = attn::projector_weights(3, 4, 1, 5).w1;  // 3 rows of 4
  attn::HostKernels kernels;
  attn::Projector p(w, kernels);
  std::vector<float> y, dx;
  p.forward(x, y);
  ASSERT_EQ(y.size(), 12u);
  p.backward(g, dx);
  const auto grad = p.gradients();
  const auto f = [&] { return loss(w, x, g); };
  EXPECT_LE(worst(x, dx, f), 1e-3) << "dx";
  EXPECT_LE(worst(w.w1, grad.w1, f), 1e-3) << "dW1";
  EXPECT_LE(worst(w.b1, grad.b1, f), 1e-3) << "db1";
  EXPECT_LE(worst(w.w2, grad.w2, f), 1e-3) << "dW2";
  EXPECT_LE(worst(w.b2, grad.b2, f), 1e-3) << "db2";
}

TEST(Projector, RejectsInputOfTheWrongWidth) {
  const auto w = attn::projector_weights(6, 5, 4, 3);
  attn::HostKernels kernels;
  attn::Projector p(w, kernels);
  std::vector<float> y;
  EXPECT_THROW(p.forward(std::vector<float>(7), y), Error);
}
