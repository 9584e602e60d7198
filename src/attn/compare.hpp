#pragma once
// Attention results against the float64 reference, per document as well as per tensor. A
// whole-tensor norm hides a wrong short document in a long batch (a wrong 100-token document in
// a 64K batch moves it by ~0.04%), so the verdict is the worst per-document relative error, and
// it names the document and the tensor.
#include <cstdint>
#include <string>
#include <vector>

#include "attn/head_layout.hpp"
#include "attn/reference.hpp"
#include "sched/batch.hpp"

namespace flexcp::attn {

struct GlobalResults {  // a batch's results in global token order (what rank 0 gathers)
  std::vector<float> out, dq, dk, dv;
};

struct TensorComparison {
  double whole = 0.0;  // ||a - ref|| / ||ref|| over the tensor
  double worst = 0.0;  // the largest per-document error
  std::int32_t worst_document = -1;
};

struct Comparison {
  TensorComparison out, dq, dk, dv;
  // The largest per-document error of any tensor, and where it is.
  double worst() const;
  std::int32_t worst_document() const;
  const char* worst_tensor() const;  // "O", "dQ", "dK" or "dV"
  // "dK of document 17 (100 tokens): 3.2e-02"
  std::string describe(const sched::Batch& batch) const;
};

// Per-document error of document d: ||a_d - ref_d|| / max(||ref_d||, floor_d), where floor_d is
// kNormFloor (a tenth) times the RMS of the whole reference tensor over d's elements: a document whose
// gradient nearly cancels (a 1-token document has dQ = dK = 0 exactly) is judged against the
// tensor's scale instead of a norm of ~0. NaN or infinity anywhere gives an error of +inf.
inline constexpr double kNormFloor = 0.1;

Comparison compare_with_reference(const sched::Batch& batch, const HeadLayout& layout, const GlobalResults& got,
                                  const ReferenceResult& ref);

// One tensor of `width` elements per token, per document of `segments` (any segmentation: the
// documents of a batch, the rows of a partial block, single (token, head) rows).
TensorComparison compare_tensor(const sched::Batch& segments, std::int64_t width, const std::vector<float>& got,
                                const std::vector<double>& ref);

}  // namespace flexcp::attn
