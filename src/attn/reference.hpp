#pragma once
// Single-process float64 reference of packed, document-masked causal attention with GQA,
// forward and backward, computed the textbook way (full softmax per row). Used by the tests
// and by `flexcp run`'s correctness check. O(sum L^2 H_q d): for checks, not for speed.
#include <vector>

#include "attn/tensor.hpp"
#include "sched/batch.hpp"

namespace flexcp::attn {

struct GlobalTensors {  // whole-batch tensors, [token][head][dim] row-major
  std::vector<float> q, k, v, dout;
};

struct ReferenceResult {
  std::vector<double> out, lse, dq, dk, dv;
};

ReferenceResult reference_attention(const sched::Batch& batch, const HeadLayout& layout,
                                    const GlobalTensors& inputs);

// Relative Frobenius error ||a - ref|| / ||ref|| (absolute when ||ref|| == 0); NaN anywhere
// in `a` gives +inf so a check can never pass on NaN.
double relative_error(const std::vector<float>& a, const std::vector<double>& ref);

}  // namespace flexcp::attn
