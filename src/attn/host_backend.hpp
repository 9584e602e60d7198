#pragma once
// The Kernels of the CPU backend: host memory and the Kokkos host kernels (attn/host_kernels.hpp),
// fp32 operands. Calls are synchronous; times are wall and thread CPU time around timed work.
#include "attn/kernels.hpp"
#include "common/clock.hpp"

namespace flexcp::attn {

class HostKernels final : public Kernels {
 public:
  MemorySpace space() const override { return MemorySpace::host; }
  std::string description() const override;
  Element operand_element() const override { return Element::fp32; }
  Buffer allocate(const std::string& label, std::int64_t count, Element element = Element::fp32) override;
  ComputeTimes take_times() override;
  void synchronize() override {}

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
  ComputeTimes times_;
  double wall_start_ = 0.0, cpu_start_ = 0.0;
};

}  // namespace flexcp::attn
