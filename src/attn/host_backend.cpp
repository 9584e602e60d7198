#include "attn/host_backend.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "attn/host_kernels.hpp"
#include "attn/projector.hpp"
#include "common/error.hpp"

namespace flexcp::attn {
namespace {
using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
using HostArray = Kokkos::View<float*, Kokkos::HostSpace>;

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

TensorRef tensor(const View& v, int heads, int dim) {
  return {v.floats(), v.count / (std::int64_t{heads} * dim), heads, dim};
}
RowStatsRef stats(const View& v, int heads) { return {v.floats(), v.count / heads, heads}; }
}  // namespace

std::string HostKernels::description() const {
  return std::string("host (Kokkos ") + Kokkos::DefaultHostExecutionSpace::name() + ", fp32)";
}

Buffer HostKernels::allocate(const std::string& label, std::int64_t count, Element element) {
  FLEXCP_CHECK(element == Element::fp32, "the host backend stores fp32 only");
  FLEXCP_CHECK(count >= 0, "a buffer of " + std::to_string(count) + " elements");
  // Labelled like every Kokkos allocation; contents left undefined, as on the device.
  auto storage = std::make_shared<HostArray>(Kokkos::ViewAllocateWithoutInitializing(label), static_cast<std::size_t>(count));
  return {View{storage->data(), count, Element::fp32, MemorySpace::host}, storage};
}

std::shared_ptr<const PreparedSlices> HostKernels::make_prepared(SliceSet slices) {
  return std::make_shared<const PreparedSlices>(std::move(slices));
}
std::shared_ptr<const PreparedCopies> HostKernels::make_prepared(std::vector<BlockCopy> blocks) {
  return std::make_shared<const PreparedCopies>(std::move(blocks));
}

void HostKernels::do_upload(const float* host, const View& dst) { std::memcpy(dst.data, host, dst.bytes()); }
void HostKernels::do_download(const View& src, float* host) { std::memcpy(host, src.data, src.bytes()); }

void HostKernels::do_fill(const View& dst, float value) {
  float* data = dst.floats();
  Kokkos::parallel_for("flexcp::attn::fill", Policy(0, dst.count), [=](std::int64_t i) { data[i] = value; });
}

void HostKernels::do_accumulate(const View& dst, const View& src) {
  float* d = dst.floats();
  const float* s = src.floats();
  Kokkos::parallel_for("flexcp::attn::accumulate", Policy(0, dst.count), [=](std::int64_t i) { d[i] += s[i]; });
}

void HostKernels::do_convert(const View& /*src*/, const View& dst) {
  throw Error(std::string("the host backend has no ") + to_string(dst.element) + " operands");
}

void HostKernels::do_copy(const PreparedCopies& blocks, const View& src, const View& dst, bool accumulate) {
  const float* s = src.floats();
  float* d = dst.floats();
  const auto& list = blocks.blocks();
  Kokkos::parallel_for("flexcp::attn::block_copy", Policy(0, static_cast<std::int64_t>(list.size())), [&](std::int64_t i) {
    const auto& b = list[static_cast<std::size_t>(i)];
    for (std::int64_t r = 0; r < b.rows; ++r) {
      const float* from = s + b.src + r * b.src_stride;
      float* to = d + b.dst + r * b.dst_stride;
      if (accumulate)
        for (std::int64_t e = 0; e < b.length; ++e) to[e] += from[e];
      else
        std::copy(from, from + b.length, to);
    }
  });
}

void HostKernels::do_forward_partial(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                                     const View& v, const View& out, const View& lse) {
  attn::forward_partial(layout, slices.slices(), tensor(q, layout.q_heads, layout.head_dim),
                  tensor(k, layout.kv_heads, layout.head_dim), tensor(v, layout.kv_heads, layout.head_dim),
                  tensor(out, layout.q_heads, layout.head_dim), stats(lse, layout.q_heads));
}

void HostKernels::do_merge_partial(const HeadLayout& layout, const View& out, const View& lse, const View& part,
                                   const View& part_lse) {
  attn::merge_partial(tensor(out, layout.q_heads, layout.head_dim), stats(lse, layout.q_heads),
                tensor(part, layout.q_heads, layout.head_dim), stats(part_lse, layout.q_heads));
}

void HostKernels::do_rowsum(const HeadLayout& layout, const View& out, const View& dout, const View& rowsum) {
  attn::softmax_backward_rowsum(tensor(out, layout.q_heads, layout.head_dim), tensor(dout, layout.q_heads, layout.head_dim),
                          stats(rowsum, layout.q_heads));
}

void HostKernels::do_backward_accumulate(const HeadLayout& layout, const PreparedSlices& slices, const View& q,
                                         const View& k, const View& v, const View& /*out: D is rowsum*/,
                                         const View& dout, const View& lse,
                                         const View& rowsum, const View& dq, const View& dk, const View& dv) {
  attn::backward_accumulate(layout, slices.slices(), tensor(q, layout.q_heads, layout.head_dim),
                      tensor(k, layout.kv_heads, layout.head_dim), tensor(v, layout.kv_heads, layout.head_dim),
                      tensor(dout, layout.q_heads, layout.head_dim), stats(lse, layout.q_heads),
                      stats(rowsum, layout.q_heads), tensor(dq, layout.q_heads, layout.head_dim),
                      tensor(dk, layout.kv_heads, layout.head_dim), tensor(dv, layout.kv_heads, layout.head_dim));
}

void HostKernels::begin_timing() {
  wall_start_ = wall_now();
  cpu_start_ = thread_cpu_seconds();
}

void HostKernels::end_timing() {
  times_.compute_s += wall_now() - wall_start_;
  times_.busy_s += thread_cpu_seconds() - cpu_start_;
}

ComputeTimes HostKernels::take_times() { return std::exchange(times_, ComputeTimes{}); }

// Dense layers: float values, double accumulation (the float64 reference is matched to 1e-4).
// Parallel over output rows, each row's sums in one thread: the same order on every run.
void HostKernels::do_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const View& a,
                          const View& b, const View& c, bool accumulate) {
  const float* pa = a.floats();
  const float* pb = b.floats();
  float* pc = c.floats();
  Kokkos::parallel_for("flexcp::attn::gemm", Policy(0, m), [=](std::int64_t i) {
    std::vector<double> acc(static_cast<std::size_t>(n), 0.0);
    for (std::int64_t p = 0; p < k; ++p) {
      const double x = transpose_a ? pa[p * m + i] : pa[i * k + p];
      if (transpose_b)
        for (std::int64_t j = 0; j < n; ++j) acc[static_cast<std::size_t>(j)] += x * pb[j * k + p];
      else
        for (std::int64_t j = 0; j < n; ++j) acc[static_cast<std::size_t>(j)] += x * pb[p * n + j];
    }
    for (std::int64_t j = 0; j < n; ++j)
      pc[i * n + j] = static_cast<float>(acc[static_cast<std::size_t>(j)] + (accumulate ? pc[i * n + j] : 0.0));
  });
}

void HostKernels::do_add_bias(const View& x, const View& bias) {
  float* px = x.floats();
  const float* pb = bias.floats();
  const std::int64_t width = bias.count;
  Kokkos::parallel_for("flexcp::attn::add_bias", Policy(0, x.count), [=](std::int64_t i) { px[i] += pb[i % width]; });
}

void HostKernels::do_bias_gradient(const View& dy, const View& db) {
  const float* pd = dy.floats();
  float* pb = db.floats();
  const std::int64_t width = db.count, rows = dy.count / db.count;
  Kokkos::parallel_for("flexcp::attn::bias_gradient", Policy(0, width), [=](std::int64_t j) {
    double s = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) s += pd[r * width + j];
    pb[j] = static_cast<float>(pb[j] + s);
  });
}

void HostKernels::do_gelu(const View& x, const View& y) {
  const float* px = x.floats();
  float* py = y.floats();
  Kokkos::parallel_for("flexcp::attn::gelu", Policy(0, x.count),
                       [=](std::int64_t i) { py[i] = static_cast<float>(attn::gelu(px[i])); });
}

void HostKernels::do_gelu_backward(const View& x, const View& dy, const View& dx) {
  const float* px = x.floats();
  const float* pd = dy.floats();
  float* pg = dx.floats();
  Kokkos::parallel_for("flexcp::attn::gelu_backward", Policy(0, x.count),
                       [=](std::int64_t i) { pg[i] = static_cast<float>(pd[i] * gelu_derivative(px[i])); });
}

}  // namespace flexcp::attn
