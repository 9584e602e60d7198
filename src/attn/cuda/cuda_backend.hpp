#pragma once
// The Kernels of the GPU backend: device memory, the CUDA attention kernels of
// device_attention.hpp and the copies of device_copies.hpp, all on one non-blocking stream of
// the current device, in call order. Q, K, V and dO reach the attention kernels as fp32, or
// rounded to bf16 by Kernels::operand (run.precision = "bf16"); every accumulation and result is
// fp32. Kernel time is measured with CUDA events around timed work. Transports order themselves
// after this stream (see stream()).
//
// Attention engines: cuDNN's fused attention (cudnn_attention.hpp) for bf16 operands where it
// covers the shape, flexcp's tensor-core kernels as the fallback, the fp32 SIMT kernels as the
// reference (device_attention.hpp).
#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include "attn/cuda/device_attention.hpp"
#include "attn/kernels.hpp"
#include "device/stream.hpp"

namespace flexcp::attn::cuda {

class CudnnAttention;
class CudnnSlices;

// automatic: cuDNN for bf16 operands when it starts and covers the layout (head_dim a multiple
// of 8, <= 128), else the tensor-core kernels where they cover it, else SIMT; a cuDNN failure
// at run time (no handle, no plan) warns once and falls back. The others force one engine and
// fail loudly where it cannot run (tests run each path this way).
enum class AttentionEngine { automatic, cudnn, tensor_core, simt };
const char* engine_name(AttentionEngine engine);

class CudaKernels final : public Kernels {
 public:
  // Uses the current CUDA device (device::select_device first).
  explicit CudaKernels(Element operands = Element::fp32, AttentionEngine engine = AttentionEngine::automatic);
  ~CudaKernels() override;

  MemorySpace space() const override { return MemorySpace::device; }
  std::string description() const override;
  Element operand_element() const override { return operands_; }
  Buffer allocate(const std::string& label, std::int64_t count, Element element = Element::fp32) override;
  ComputeTimes take_times() override;
  void synchronize() override;
  // The stream every call runs on: communication waits for it before touching buffers.
  const device::Stream& stream() const { return stream_; }

 protected:
  std::shared_ptr<const PreparedSlices> make_prepared(SliceSet slices) override;
  std::shared_ptr<const PreparedCopies> make_prepared(std::vector<BlockCopy> blocks) override;
  void do_upload(const float* host, const View& dst) override;
  void do_download(const View& src, float* host) override;
  void do_fill(const View& dst, float value) override;
  void do_accumulate(const View& dst, const View& src) override;
  void do_convert(const View& src, const View& dst) override;
  void do_copy(const PreparedCopies& blocks, const View& src, const View& dst, bool accumulate) override;
  void do_forward_partial(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                          const View& v, const View& out, const View& lse) override;
  void do_merge_partial(const HeadLayout& layout, const View& out, const View& lse, const View& part,
                        const View& part_lse) override;
  void do_rowsum(const HeadLayout& layout, const View& out, const View& dout, const View& rowsum) override;
  void do_backward_accumulate(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                              const View& v, const View& out, const View& dout, const View& lse, const View& rowsum,
                              const View& dq, const View& dk, const View& dv) override;
  void do_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const View& a,
               const View& b, const View& c, bool accumulate) override;
  void do_add_bias(const View& x, const View& bias) override;
  void do_bias_gradient(const View& dy, const View& db) override;
  void do_gelu(const View& x, const View& y) override;
  void do_gelu_backward(const View& x, const View& dy, const View& dx) override;
  void begin_timing() override;
  void end_timing() override;

 private:
  // Whether this call goes to cuDNN: starts it on first need; in automatic mode a failure to
  // start disables it (one warning).
  bool use_cudnn(const HeadLayout& layout);
  void cudnn_failed(const std::exception& error);
  // The cuDNN form of `slices` when this call goes to cuDNN, its plans built; else nullptr.
  const CudnnSlices* cudnn_ready(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                                 bool backward);
  KernelConfig config() const;

  Element operands_;
  AttentionEngine engine_;
  device::Stream stream_;
  std::unique_ptr<CudnnAttention> cudnn_;
  bool cudnn_disabled_ = false;
  std::vector<std::pair<device::Event, device::Event>> timed_;  // start, end of each timed region
};

}  // namespace flexcp::attn::cuda
