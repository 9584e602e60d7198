#pragma once
// The multimodal projector: a 2-layer MLP (Linear -> GELU -> Linear), as LLaVA-1.5 and InternVL
// ship, mapping each image token's merged encoder features (`merge` patches side by side) to
// the LLM's input for that token. Forward keeps what backward needs; backward returns the input
// gradient and accumulates this rank's weight gradients (data parallel: the sum over ranks is
// the full gradient, reduced with the rest of the model's, not here). Written once over Kernels
// (GEMM, bias, GELU), so it runs in the backend's memory space: HostKernels accumulate in double,
// CudaKernels on the device; weights, activations and gradients stay there.
#include <cstdint>
#include <vector>

#include "attn/kernels.hpp"

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
  // Copies `weights` into `kernels`' memory; keeps a reference to `kernels`, which must outlive it.
  Projector(const ProjectorWeights& weights, Kernels& kernels);
  // x: rows x in -> y: rows x out (overwritten), both in the kernels' space. Keeps a copy of x
  // and the activations for backward.
  void forward(const View& x, const View& y);
  // dy: rows x out (of the last forward) -> dx: rows x in (overwritten); adds to the gradients.
  void backward(const View& dy, const View& dx);
  // The same through host vectors (uploaded and downloaded).
  void forward(const std::vector<float>& x, std::vector<float>& y);
  void backward(const std::vector<float>& dy, std::vector<float>& dx);
  // This rank's weight gradients, summed over every backward since construction (downloaded).
  ProjectorWeights gradients();

 private:
  struct Parameters {
    Buffer w1, b1, w2, b2;
  };
  Parameters upload(const ProjectorWeights& w, bool zero);
  Kernels& kernels_;
  std::int64_t in_, hidden_, out_;
  Parameters w_, grad_;
  Buffer x_, pre_, h_;  // the last forward's input, pre-activation and activation
  std::int64_t rows_ = 0;
};

}  // namespace flexcp::attn
