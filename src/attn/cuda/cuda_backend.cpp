#include "attn/cuda/cuda_backend.hpp"

#include <cuda_runtime_api.h>

#include <iostream>

#include "attn/cuda/cudnn_attention.hpp"
#include "attn/cuda/device_attention.hpp"
#include "attn/cuda/dense_layers.hpp"
#include "attn/cuda/device_copies.hpp"
#include "device/buffer.hpp"
#include "device/check.hpp"
#include "common/error.hpp"

namespace flexcp::attn::cuda {
namespace {
// The prepared forms on the device, made only by CudaKernels, so its downcasts are safe.
class CudaSlices final : public PreparedSlices {
 public:
  // The cuDNN form (entries and layers, attn/sdpa_entries.hpp) only where cuDNN may run them.
  CudaSlices(SliceSet slices, bool for_cudnn) : PreparedSlices(std::move(slices)), device_(this->slices()) {
    if (for_cudnn) cudnn_ = std::make_unique<CudnnSlices>(this->slices());
  }
  const DeviceSliceSet& device() const { return device_; }
  const CudnnSlices* cudnn() const { return cudnn_.get(); }

 private:
  DeviceSliceSet device_;
  std::unique_ptr<CudnnSlices> cudnn_;
};

class CudaCopies final : public PreparedCopies {
 public:
  explicit CudaCopies(std::vector<BlockCopy> blocks) : PreparedCopies(std::move(blocks)) {
    std::vector<DeviceBlockCopy> flat;
    for (const auto& b : this->blocks()) {
      most_rows_ = std::max(most_rows_, b.rows);
      flat.push_back({b.src, b.dst, b.length, b.rows, b.src_stride, b.dst_stride});
    }
    device_ = device::DeviceBuffer::from("flexcp::cuda::block_copies", flat);
  }
  const DeviceBlockCopy* device() const { return static_cast<const DeviceBlockCopy*>(device_.data()); }
  std::int64_t most_rows() const { return most_rows_; }

 private:
  device::DeviceBuffer device_;
  std::int64_t most_rows_ = 0;
};

const CudaSlices& mine(const PreparedSlices& slices) {
  const auto* cuda = dynamic_cast<const CudaSlices*>(&slices);
  FLEXCP_CHECK(cuda != nullptr, "slices prepared by another backend handed to the CUDA kernels");
  return *cuda;
}
const DeviceSliceSet& on_device(const PreparedSlices& slices) { return mine(slices).device(); }
const CudnnSlices& for_cudnn(const PreparedSlices& slices) {
  const auto* c = mine(slices).cudnn();
  FLEXCP_CHECK(c != nullptr, "slices prepared without their cuDNN form handed to the cuDNN path");
  return *c;
}

Precision precision_of(const View& v) { return v.element == Element::bf16 ? Precision::bf16 : Precision::fp32; }
DeviceTensor tensor(const View& v, std::int64_t row) { return {v.data, v.count / row}; }
}  // namespace

const char* engine_name(AttentionEngine engine) {
  switch (engine) {
    case AttentionEngine::automatic: return "automatic";
    case AttentionEngine::cudnn: return "cudnn";
    case AttentionEngine::tensor_core: return "tensor-core";
    case AttentionEngine::simt: return "simt";
  }
  return "?";
}

CudaKernels::CudaKernels(Element operands, AttentionEngine engine)
    : operands_(operands), engine_(engine), stream_("flexcp::cuda::compute") {
  if (engine_ == AttentionEngine::cudnn) {
    FLEXCP_CHECK(operands_ == Element::bf16, "the cuDNN attention engine needs bf16 operands");
    cudnn_ = std::make_unique<CudnnAttention>(stream_.get());  // fails loudly: the caller asked for it
  }
}

CudaKernels::~CudaKernels() = default;

namespace {
// Whether `automatic` picks cuDNN for bf16. Off: on an H200 (GPU run 7, 2026-11-27, bench/RESULTS.md)
// this path gave wrong gradients for entries shorter than 8 tokens and a wrong forward on
// partial zigzag blocks, and its forward was slower than the tensor-core kernels in flexcp's call
// pattern; `cudnn` stays selectable explicitly, for the next GPU run to fix and measure.
constexpr bool kCudnnByDefault = false;
}  // namespace

std::string CudaKernels::description() const {
  int device = 0;
  cudaDeviceProp properties{};
  const bool named = cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&properties, device) == cudaSuccess;
  std::string attention = engine_name(engine_);
  if (engine_ == AttentionEngine::automatic)
    attention = operands_ != Element::bf16 ? "simt"
                : !kCudnnByDefault || cudnn_disabled_ ? "tensor-core where it covers the shape, else simt"
                                           : "cudnn where it covers the shape, else tensor-core or simt";
  return std::string("cuda (") + (named ? properties.name : "device") + ", " + to_string(operands_) +
         " operands, attention: " + attention + ")";
}

KernelConfig CudaKernels::config() const {
  KernelConfig c;
  if (engine_ == AttentionEngine::tensor_core) c.path = KernelPath::tensor_core;
  if (engine_ == AttentionEngine::simt) c.path = KernelPath::simt;
  return c;
}


bool CudaKernels::use_cudnn(const HeadLayout& layout) {
  if (engine_ == AttentionEngine::cudnn) {
    FLEXCP_CHECK(CudnnAttention::covers(layout), "the cuDNN attention engine needs head_dim a multiple of 8 and at most "
                                                 "128, H_q a multiple of H_kv; got head_dim " +
                                                     std::to_string(layout.head_dim));
    return true;
  }
  if (!kCudnnByDefault || engine_ != AttentionEngine::automatic || operands_ != Element::bf16 || cudnn_disabled_ ||
      !CudnnAttention::covers(layout))
    return false;
  if (!cudnn_) {
    try {
      cudnn_ = std::make_unique<CudnnAttention>(stream_.get());
    } catch (const std::exception& error) {
      cudnn_failed(error);
      return false;
    }
  }
  return true;
}

const CudnnSlices* CudaKernels::cudnn_ready(const HeadLayout& layout, const PreparedSlices& slices, const View& q,
                                            const View& k, bool backward) {
  if (q.element != Element::bf16 || !use_cudnn(layout)) return nullptr;
  const auto& c = for_cudnn(slices);
  const std::int64_t q_tokens = q.count / (std::int64_t{layout.q_heads} * layout.head_dim);
  const std::int64_t kv_tokens = k.count / (std::int64_t{layout.kv_heads} * layout.head_dim);
  try {  // plans first, nothing launched yet: a failure here leaves the outputs to the fallback
    if (backward)
      cudnn_->prepare_backward(layout, c, q_tokens, kv_tokens);
    else
      cudnn_->prepare_forward(layout, c, q_tokens, kv_tokens);
  } catch (const std::exception& error) {
    if (engine_ == AttentionEngine::cudnn) throw;
    cudnn_failed(error);
    return nullptr;
  }
  return &c;
}

void CudaKernels::cudnn_failed(const std::exception& error) {
  std::cerr << "flexcp: warning: cuDNN attention unavailable, using the tensor-core kernels: " << error.what()
            << std::endl;
  cudnn_disabled_ = true;
}

Buffer CudaKernels::allocate(const std::string& label, std::int64_t count, Element element) {
  FLEXCP_CHECK(count >= 0, "a buffer of " + std::to_string(count) + " elements");
  auto storage = std::make_shared<device::DeviceBuffer>(label, static_cast<std::size_t>(count) * element_bytes(element));
  return {View{storage->data(), count, element, MemorySpace::device}, storage};
}

std::shared_ptr<const PreparedSlices> CudaKernels::make_prepared(SliceSet slices) {
  // Decomposition and layering once per slice set, on the host (offsets per head layout on first use).
  const bool may_use_cudnn = engine_ == AttentionEngine::cudnn ||
                             (engine_ == AttentionEngine::automatic && operands_ == Element::bf16 && !cudnn_disabled_);
  return std::make_shared<const CudaSlices>(std::move(slices), may_use_cudnn);
}
std::shared_ptr<const PreparedCopies> CudaKernels::make_prepared(std::vector<BlockCopy> blocks) {
  return std::make_shared<const CudaCopies>(std::move(blocks));
}

void CudaKernels::do_upload(const float* host, const View& dst) {
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(dst.data, host, dst.bytes(), cudaMemcpyHostToDevice, stream_.get()));
  stream_.synchronize();  // the host array may go as soon as this returns
}

void CudaKernels::do_download(const View& src, float* host) {
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(host, src.data, src.bytes(), cudaMemcpyDeviceToHost, stream_.get()));
  stream_.synchronize();
}

void CudaKernels::do_fill(const View& dst, float value) { cuda::fill(dst.floats(), dst.count, value, stream_.get()); }

void CudaKernels::do_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const View& a,
                          const View& b, const View& c, bool accumulate) {
  cuda::gemm(transpose_a, transpose_b, m, n, k, a.floats(), b.floats(), c.floats(), accumulate, stream_.get());
}
void CudaKernels::do_add_bias(const View& x, const View& bias) {
  cuda::add_bias(x.floats(), bias.floats(), x.count, bias.count, stream_.get());
}
void CudaKernels::do_bias_gradient(const View& dy, const View& db) {
  cuda::bias_gradient(dy.floats(), db.floats(), dy.count / db.count, db.count, stream_.get());
}
void CudaKernels::do_gelu(const View& x, const View& y) { cuda::gelu(x.floats(), y.floats(), x.count, stream_.get()); }
void CudaKernels::do_gelu_backward(const View& x, const View& dy, const View& dx) {
  cuda::gelu_backward(x.floats(), dy.floats(), dx.floats(), x.count, stream_.get());
}

void CudaKernels::do_accumulate(const View& dst, const View& src) {
  cuda::accumulate(dst.floats(), src.floats(), dst.count, stream_.get());
}

void CudaKernels::do_convert(const View& src, const View& dst) {
  FLEXCP_CHECK(dst.element == Element::bf16, std::string("no conversion to ") + to_string(dst.element));
  to_bf16(src.floats(), dst.data, src.count, stream_.get());
}

void CudaKernels::do_copy(const PreparedCopies& blocks, const View& src, const View& dst, bool accumulate) {
  const auto* mine = dynamic_cast<const CudaCopies*>(&blocks);
  FLEXCP_CHECK(mine != nullptr, "block copies prepared by another backend handed to the CUDA kernels");
  block_copy(mine->device(), static_cast<std::int64_t>(mine->blocks().size()), mine->most_rows(), src.floats(),
             dst.floats(), accumulate, stream_.get());
}

void CudaKernels::do_forward_partial(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                                     const View& v, const View& out, const View& lse) {
  const std::int64_t q_row = std::int64_t{layout.q_heads} * layout.head_dim;
  const std::int64_t kv_row = std::int64_t{layout.kv_heads} * layout.head_dim;
  if (const auto* c = cudnn_ready(layout, slices, q, k, false)) {
    cudnn_->forward(layout, *c, q.data, k.data, v.data, q.count / q_row, k.count / kv_row, out.floats(), lse.floats());
    return;
  }
  cuda::forward_partial(layout, on_device(slices), precision_of(q), tensor(q, q_row), tensor(k, kv_row), tensor(v, kv_row),
                        out.floats(), lse.floats(), stream_.get(), config());
}

void CudaKernels::do_merge_partial(const HeadLayout& layout, const View& out, const View& lse, const View& part,
                                   const View& part_lse) {
  cuda::merge_partial(layout, out.count / (std::int64_t{layout.q_heads} * layout.head_dim), out.floats(), lse.floats(),
                      part.floats(), part_lse.floats(), stream_.get());
}

void CudaKernels::do_rowsum(const HeadLayout& layout, const View& out, const View& dout, const View& rowsum) {
  // dO as the backward will read it: rounded to bf16 with bf16 operands (device_attention.hpp says why).
  cuda::softmax_backward_rowsum(layout, out.count / (std::int64_t{layout.q_heads} * layout.head_dim), out.floats(),
                                dout.floats(), rowsum.floats(), stream_.get(),
                                operands_ == Element::bf16 ? Precision::bf16 : Precision::fp32);
}

void CudaKernels::do_backward_accumulate(const HeadLayout& layout, const PreparedSlices& slices, const View& q,
                                         const View& k, const View& v, const View& out, const View& dout,
                                         const View& lse, const View& rowsum, const View& dq, const View& dk,
                                         const View& dv) {
  const std::int64_t q_row = std::int64_t{layout.q_heads} * layout.head_dim;
  const std::int64_t kv_row = std::int64_t{layout.kv_heads} * layout.head_dim;
  if (const auto* c = cudnn_ready(layout, slices, q, k, true)) {
    // cuDNN recomputes D from out and dout (bf16, as rowsum rounds dO too), so rowsum is unused.
    cudnn_->backward(layout, *c, q.data, k.data, v.data, out.floats(), dout.data, lse.floats(), q.count / q_row,
                     k.count / kv_row, dq.floats(), dk.floats(), dv.floats());
    return;
  }
  cuda::backward_accumulate(layout, on_device(slices), precision_of(q), tensor(q, q_row), tensor(k, kv_row),
                            tensor(v, kv_row), tensor(dout, q_row), lse.floats(), rowsum.floats(), dq.floats(), dk.floats(),
                            dv.floats(), stream_.get(), config());
}

void CudaKernels::begin_timing() {
  timed_.emplace_back(device::Event(true), device::Event(true));
  timed_.back().first.record(stream_.get());
}

void CudaKernels::end_timing() {
  if (!timed_.empty()) timed_.back().second.record(stream_.get());
}

ComputeTimes CudaKernels::take_times() {
  synchronize();
  ComputeTimes times;
  for (const auto& [start, end] : timed_) times.compute_s += 1e-3 * end.elapsed_ms_since(start);
  times.busy_s = times.compute_s;  // the device was busy for exactly that long
  timed_.clear();
  return times;
}

void CudaKernels::synchronize() { stream_.synchronize(); }

}  // namespace flexcp::attn::cuda
