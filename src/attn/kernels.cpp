#include "attn/kernels.hpp"

#include <string>

#include "common/error.hpp"

namespace flexcp::attn {
namespace {
std::string count_text(const View& v) { return std::to_string(v.count) + " " + to_string(v.element) + " elements"; }

// Tokens of a [tokens][heads][dim] view; throws naming `what` when the size is not a multiple.
std::int64_t tokens_of(const View& v, std::int64_t row, const char* what) {
  FLEXCP_CHECK(row > 0 && v.count % row == 0,
               std::string(what) + " holds " + count_text(v) + ", not a whole number of rows of " + std::to_string(row));
  return v.count / row;
}

void require_size(const View& v, std::int64_t expected, const char* what) {
  FLEXCP_CHECK(v.count == expected, std::string(what) + " holds " + count_text(v) + ", expected " + std::to_string(expected));
}

void require_fp32(const View& v, const char* what) {
  FLEXCP_CHECK(v.element == Element::fp32, std::string(what) + " must be fp32, not " + to_string(v.element));
}

struct AttentionShape {
  std::int64_t queries = 0, keys = 0;
};

// Checks q/k/v/out-like views against the layout and the slices; returns the token counts.
AttentionShape attention_shape(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                               const View& v, Element operand) {
  const std::int64_t d = layout.head_dim;
  AttentionShape s{tokens_of(q, layout.q_heads * d, "q"), tokens_of(k, layout.kv_heads * d, "k")};
  require_size(v, k.count, "v");
  for (const auto* x : {&q, &k, &v})
    FLEXCP_CHECK(x->element == operand, std::string("attention operands are ") + to_string(operand) + " on this backend, got " +
                                            to_string(x->element) + " (use Kernels::operand)");
  FLEXCP_CHECK(slices.query_rows() <= s.queries && slices.key_rows() <= s.keys,
               "slices reach query row " + std::to_string(slices.query_rows()) + " and key row " +
                   std::to_string(slices.key_rows()) + " of buffers of " + std::to_string(s.queries) + " and " +
                   std::to_string(s.keys) + " tokens");
  return s;
}
}  // namespace

void Kernels::require_here(const View& view, const char* what) const { view.require(space(), what); }

void Kernels::require_fp32_here(std::initializer_list<const View*> views, const char* what) const {
  for (const auto* v : views) {
    require_here(*v, what);
    require_fp32(*v, what);
  }
}

void Kernels::close_timing_after_error() noexcept {
  timing_ = false;
  try {
    end_timing();
  } catch (...) {  // the first error is the one to report
  }
}

void Kernels::upload(const float* host, const View& dst) {
  require_here(dst, "upload destination");
  require_fp32(dst, "upload destination");
  ++counts_.uploads;
  if (dst.count > 0) do_upload(host, dst);
}

void Kernels::download(const View& src, float* host) {
  require_here(src, "download source");
  require_fp32(src, "download source");
  ++counts_.downloads;
  if (src.count > 0) do_download(src, host);
}

void Kernels::fill(const View& dst, float value) {
  require_here(dst, "fill");
  require_fp32(dst, "fill");
  ++counts_.fills;
  if (dst.count > 0) do_fill(dst, value);
}

void Kernels::accumulate(const View& dst, const View& src) {
  require_here(dst, "accumulate destination");
  require_here(src, "accumulate source");
  require_fp32(dst, "accumulate destination");
  require_fp32(src, "accumulate source");
  require_size(src, dst.count, "accumulate source");
  ++counts_.accumulates;
  if (dst.count > 0) do_accumulate(dst, src);
}

View Kernels::operand(const View& values, Buffer& scratch) {
  require_here(values, "operand");
  require_fp32(values, "operand values");
  const Element wanted = operand_element();
  if (wanted == Element::fp32) return values;
  if (scratch.count() < values.count || scratch.view().element != wanted)
    scratch = allocate("flexcp::operand_scratch", values.count, wanted);
  const View converted = scratch.slice(0, values.count);
  ++counts_.conversions;
  if (values.count > 0) do_convert(values, converted);
  return converted;
}

std::shared_ptr<const PreparedSlices> Kernels::prepare(SliceSet slices) { return make_prepared(std::move(slices)); }

std::shared_ptr<const PreparedCopies> Kernels::prepare(std::vector<BlockCopy> blocks) {
  return make_prepared(std::move(blocks));
}

void Kernels::copy(const PreparedCopies& blocks, const View& src, const View& dst, bool accumulate) {
  require_here(src, "copy source");
  require_here(dst, "copy destination");
  require_fp32(src, "copy source");
  require_fp32(dst, "copy destination");
  FLEXCP_CHECK(blocks.src_extent() <= src.count && blocks.dst_extent() <= dst.count,
               "block copies reach element " + std::to_string(blocks.src_extent()) + " of a source of " +
                   std::to_string(src.count) + " and " + std::to_string(blocks.dst_extent()) + " of a destination of " +
                   std::to_string(dst.count));
  ++counts_.copies;
  if (blocks.elements() > 0) do_copy(blocks, src, dst, accumulate);
}

void Kernels::forward_partial(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                              const View& v, const View& out, const View& lse) {
  for (const auto* x : {&q, &k, &v, &out, &lse}) require_here(*x, "forward_partial");
  const auto shape = attention_shape(layout, slices, q, k, v, operand_element());
  require_fp32(out, "forward_partial out");
  require_fp32(lse, "forward_partial lse");
  require_size(out, shape.queries * layout.q_heads * layout.head_dim, "forward_partial out");
  require_size(lse, shape.queries * layout.q_heads, "forward_partial lse");
  ++counts_.forward;
  counts_.forward_pairs += slices.area() * layout.q_heads;
  do_forward_partial(layout, slices, q, k, v, out, lse);
}

void Kernels::merge_partial(const HeadLayout& layout, const View& out, const View& lse, const View& part,
                            const View& part_lse) {
  for (const auto* x : {&out, &lse, &part, &part_lse}) {
    require_here(*x, "merge_partial");
    require_fp32(*x, "merge_partial");
  }
  const auto tokens = tokens_of(out, std::int64_t{layout.q_heads} * layout.head_dim, "merge_partial out");
  require_size(part, out.count, "merge_partial part");
  require_size(lse, tokens * layout.q_heads, "merge_partial lse");
  require_size(part_lse, tokens * layout.q_heads, "merge_partial part_lse");
  ++counts_.merge;
  if (tokens > 0) do_merge_partial(layout, out, lse, part, part_lse);
}

void Kernels::softmax_backward_rowsum(const HeadLayout& layout, const View& out, const View& dout, const View& rowsum) {
  for (const auto* x : {&out, &dout, &rowsum}) {
    require_here(*x, "softmax_backward_rowsum");
    require_fp32(*x, "softmax_backward_rowsum");
  }
  const auto tokens = tokens_of(out, std::int64_t{layout.q_heads} * layout.head_dim, "softmax_backward_rowsum out");
  require_size(dout, out.count, "softmax_backward_rowsum dout");
  require_size(rowsum, tokens * layout.q_heads, "softmax_backward_rowsum rowsum");
  ++counts_.rowsum;
  if (tokens > 0) do_rowsum(layout, out, dout, rowsum);
}

void Kernels::backward_accumulate(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                                  const View& v, const View& out, const View& dout, const View& lse, const View& rowsum,
                                  const View& dq, const View& dk, const View& dv) {
  for (const auto* x : {&q, &k, &v, &out, &dout, &lse, &rowsum, &dq, &dk, &dv}) require_here(*x, "backward_accumulate");
  const auto shape = attention_shape(layout, slices, q, k, v, operand_element());
  FLEXCP_CHECK(dout.element == operand_element(), "backward_accumulate dout must be an operand (Kernels::operand)");
  require_size(dout, q.count, "backward_accumulate dout");
  for (const auto* x : {&out, &lse, &rowsum, &dq, &dk, &dv}) require_fp32(*x, "backward_accumulate");
  require_size(out, q.count, "backward_accumulate out");
  require_size(lse, shape.queries * layout.q_heads, "backward_accumulate lse");
  require_size(rowsum, shape.queries * layout.q_heads, "backward_accumulate rowsum");
  require_size(dq, q.count, "backward_accumulate dq");
  require_size(dk, k.count, "backward_accumulate dk");
  require_size(dv, k.count, "backward_accumulate dv");
  ++counts_.backward;
  counts_.backward_pairs += slices.area() * layout.q_heads;
  do_backward_accumulate(layout, slices, q, k, v, out, dout, lse, rowsum, dq, dk, dv);
}

void Kernels::gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const View& a,
                   const View& b, const View& c, bool accumulate) {
  require_fp32_here({&a, &b, &c}, "gemm operand");
  FLEXCP_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimensions");
  require_size(a, m * k, transpose_a ? "gemm a (k x m)" : "gemm a (m x k)");
  require_size(b, k * n, transpose_b ? "gemm b (n x k)" : "gemm b (k x n)");
  require_size(c, m * n, "gemm c (m x n)");
  ++counts_.gemms;
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum
    if (!accumulate) do_fill(c, 0.0f);
    return;
  }
  do_gemm(transpose_a, transpose_b, m, n, k, a, b, c, accumulate);
}

void Kernels::add_bias(const View& x, const View& bias) {
  require_fp32_here({&x}, "bias target");
  require_fp32_here({&bias}, "bias");
  tokens_of(x, bias.count, "bias target");
  ++counts_.elementwise;
  if (x.count > 0) do_add_bias(x, bias);
}

void Kernels::bias_gradient(const View& dy, const View& db) {
  require_fp32_here({&dy}, "bias gradient source");
  require_fp32_here({&db}, "bias gradient");
  tokens_of(dy, db.count, "bias gradient source");
  ++counts_.elementwise;
  if (dy.count > 0) do_bias_gradient(dy, db);
}

void Kernels::gelu(const View& x, const View& y) {
  require_fp32_here({&x}, "gelu input");
  require_fp32_here({&y}, "gelu output");
  require_size(y, x.count, "gelu output");
  ++counts_.elementwise;
  if (x.count > 0) do_gelu(x, y);
}

void Kernels::gelu_backward(const View& x, const View& dy, const View& dx) {
  require_fp32_here({&x, &dy, &dx}, "gelu backward operand");
  require_size(dy, x.count, "gelu backward dy");
  require_size(dx, x.count, "gelu backward dx");
  ++counts_.elementwise;
  if (x.count > 0) do_gelu_backward(x, dy, dx);
}

}  // namespace flexcp::attn
