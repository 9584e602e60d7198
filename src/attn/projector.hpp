#pragma once
// The multimodal projector: a 2-layer MLP (Linear -> GELU -> Linear), as LLaVA-1.5 and InternVL
// ship, mapping each image token's merged encoder features (`merge` patches side by side) to
// the LLM's input for that token. Forward keeps what backward needs; backward returns the input
// gradient and accumulates this rank's weight gradients (data parallel: the sum over ranks is
// the full gradient, reduced with the rest of the model's, not here). Host memory, float with
// double accumulation: the projector is a small fraction of a step, and Kernels has no GEMM.
#include <cstdint>
#include <vector>

namespace flexcp::attn {

struct ProjectorWeights {
  std::int64_t in = 0, hidden = 0, out = 0;
  std::vector<float> w1, b1;  // [in][hidden], [hidden]
  std::vector<float> w2, b2;  // [hidden][out], [out]
};

// Deterministic weights (uniform, scaled by 1/sqrt(fan_in)), the same on every rank for `seed`.
ProjectorWeights projector_weights(std::int64_t in, std::int64_t hidden, std::int64_t out, std::uint64_t seed);
// GELU, tanh form (what the shipped projectors use), and its derivative.
double gelu(double a);
double gelu_derivative(double a);

class Projector {
 public:
  // Keeps a reference to `weights`: they must outlive the projector.
  explicit Projector(const ProjectorWeights& weights);
  // x: rows x in -> y: rows x out (both overwritten/read whole).
  void forward(const std::vector<float>& x, std::vector<float>& y);
  // dy: rows x out (of the last forward) -> dx: rows x in; adds to gradients().
  void backward(const std::vector<float>& dy, std::vector<float>& dx);
  // This rank's weight gradients, summed over every backward since construction.
  const ProjectorWeights& gradients() const { return grad_; }

 private:
  const ProjectorWeights& w_;
  ProjectorWeights grad_;
  std::vector<float> x_, pre_;  // the last forward's input and pre-activation
  std::int64_t rows_ = 0;
};

}  // namespace flexcp::attn
