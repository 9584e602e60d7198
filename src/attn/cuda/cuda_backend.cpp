#include "attn/cuda/cuda_backend.hpp"

#include <cuda_runtime_api.h>

#include "attn/cuda/device_attention.hpp"
#include "attn/cuda/device_copies.hpp"
#include "device/buffer.hpp"
#include "device/check.hpp"
#include "common/error.hpp"

namespace flexcp::attn::cuda {
namespace {
// The prepared forms on the device, made only by CudaKernels, so its downcasts are safe.
class CudaSlices final : public PreparedSlices {
 public:
  explicit CudaSlices(SliceSet slices) : PreparedSlices(std::move(slices)), device_(this->slices()) {}
  const DeviceSliceSet& device() const { return device_; }

 private:
  DeviceSliceSet device_;
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

const DeviceSliceSet& on_device(const PreparedSlices& slices) {
  const auto* mine = dynamic_cast<const CudaSlices*>(&slices);
  FLEXCP_CHECK(mine != nullptr, "slices prepared by another backend handed to the CUDA kernels");
  return mine->device();
}

Precision precision_of(const View& v) { return v.element == Element::bf16 ? Precision::bf16 : Precision::fp32; }
DeviceTensor tensor(const View& v, std::int64_t row) { return {v.data, v.count / row}; }
}  // namespace

CudaKernels::CudaKernels(Element operands) : operands_(operands), stream_("flexcp::cuda::compute") {}

CudaKernels::~CudaKernels() = default;

std::string CudaKernels::description() const {
  int device = 0;
  cudaDeviceProp properties{};
  const bool named = cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&properties, device) == cudaSuccess;
  return std::string("cuda (") + (named ? properties.name : "device") + ", " + to_string(operands_) + " operands)";
}

Buffer CudaKernels::allocate(const std::string& label, std::int64_t count, Element element) {
  FLEXCP_CHECK(count >= 0, "a buffer of " + std::to_string(count) + " elements");
  auto storage = std::make_shared<device::DeviceBuffer>(label, static_cast<std::size_t>(count) * element_bytes(element));
  return {View{storage->data(), count, element, MemorySpace::device}, storage};
}

std::shared_ptr<const PreparedSlices> CudaKernels::make_prepared(SliceSet slices) {
  return std::make_shared<const CudaSlices>(std::move(slices));
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
  cuda::forward_partial(layout, on_device(slices), precision_of(q), tensor(q, q_row), tensor(k, kv_row), tensor(v, kv_row),
                        out.floats(), lse.floats(), stream_.get());
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
                                         const View& k, const View& v, const View& dout, const View& lse,
                                         const View& rowsum, const View& dq, const View& dk, const View& dv) {
  const std::int64_t q_row = std::int64_t{layout.q_heads} * layout.head_dim;
  const std::int64_t kv_row = std::int64_t{layout.kv_heads} * layout.head_dim;
  cuda::backward_accumulate(layout, on_device(slices), precision_of(q), tensor(q, q_row), tensor(k, kv_row),
                            tensor(v, kv_row), tensor(dout, q_row), lse.floats(), rowsum.floats(), dq.floats(), dk.floats(),
                            dv.floats(), stream_.get());
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
