#include "attn/compare.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "common/error.hpp"

namespace flexcp::attn {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TensorComparison compare_tensor(const sched::Batch& batch, std::int64_t width, const std::vector<float>& a,
                                const std::vector<double>& ref) {
  FLEXCP_CHECK(a.size() == ref.size() && static_cast<std::int64_t>(a.size()) == batch.total_tokens() * width,
               "compared tensors differ in size");
  TensorComparison c;
  double diff_all = 0.0, norm_all = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double e = double(a[i]) - ref[i];
    diff_all += e * e;
    norm_all += ref[i] * ref[i];
  }
  const double mean_square = a.empty() ? 0.0 : norm_all / static_cast<double>(a.size());
  const auto offsets = batch.doc_offsets();
  for (std::size_t doc = 0; doc < batch.doc_lengths.size(); ++doc) {
    const auto begin = static_cast<std::size_t>(offsets[doc] * width);
    const auto end = begin + static_cast<std::size_t>(batch.doc_lengths[doc] * width);
    double diff = 0.0, norm = 0.0;
    bool finite = true;
    for (std::size_t i = begin; i < end; ++i) {
      finite = finite && std::isfinite(a[i]);
      const double e = double(a[i]) - ref[i];
      diff += e * e;
      norm += ref[i] * ref[i];
    }
    const double floor = kNormFloor * kNormFloor * mean_square * static_cast<double>(end - begin);
    const double error = finite ? std::sqrt(diff / std::max({norm, floor, std::numeric_limits<double>::min()})) : kInf;
    if (error > c.worst || c.worst_document < 0) {
      c.worst = error;
      c.worst_document = static_cast<std::int32_t>(doc);
    }
    if (!finite) diff_all = kInf;
  }
  c.whole = std::isinf(diff_all) ? kInf : (norm_all > 0.0 ? std::sqrt(diff_all / norm_all) : std::sqrt(diff_all));
  return c;
}

namespace {
struct Named {
  const TensorComparison* tensor;
  const char* name;
};
Named worst_of(const Comparison& c) {
  Named worst{&c.out, "O"};
  for (Named n : {Named{&c.dq, "dQ"}, Named{&c.dk, "dK"}, Named{&c.dv, "dV"}})
    if (n.tensor->worst > worst.tensor->worst) worst = n;
  return worst;
}
}  // namespace

double Comparison::worst() const { return worst_of(*this).tensor->worst; }
std::int32_t Comparison::worst_document() const { return worst_of(*this).tensor->worst_document; }
const char* Comparison::worst_tensor() const { return worst_of(*this).name; }

std::string Comparison::describe(const sched::Batch& batch) const {
  const auto doc = worst_document();
  const long long length = doc >= 0 ? static_cast<long long>(batch.doc_lengths[static_cast<std::size_t>(doc)]) : 0;
  char text[160];
  std::snprintf(text, sizeof text, "%s of document %d (%lld tokens): %.3e", worst_tensor(), doc, length, worst());
  return text;
}

Comparison compare_with_reference(const sched::Batch& batch, const HeadLayout& layout, const GlobalResults& got,
                                  const ReferenceResult& ref) {
  const std::int64_t q_width = std::int64_t{layout.q_heads} * layout.head_dim;
  const std::int64_t kv_width = std::int64_t{layout.kv_heads} * layout.head_dim;
  return {compare_tensor(batch, q_width, got.out, ref.out), compare_tensor(batch, q_width, got.dq, ref.dq),
          compare_tensor(batch, kv_width, got.dk, ref.dk), compare_tensor(batch, kv_width, got.dv, ref.dv)};
}

}  // namespace flexcp::attn
