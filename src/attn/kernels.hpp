#pragma once
// Everything an executor asks of a backend, behind one interface: memory in the backend's
// space, the attention kernels over slices (forward partial with log-sum-exp, merge, softmax-
// backward row sums, backward accumulation), and the data movement around them (fill, add,
// block copies for KV pieces and head transposes, host transfers, operand conversion; and the
// dense layers of the multimodal projector: GEMM, bias, GELU). The
// executors (ring, needed-KV, all-gather, Ulysses) are written once over (Transport, Kernels);
// HostKernels (Kokkos, host memory) and CudaKernels (device memory, one stream) implement it.
//
// Shapes: tensors are flat views in the packed THD layout, [tokens][heads][head_dim]; row
// statistics (lse, D = rowsum(dO * O)) are [tokens][heads]; a KV message is K then V. Token
// counts follow from the view sizes and the HeadLayout, and every call checks them, the memory
// space and the element type before any backend work, so a mismatch is an error with context.
//
// Ordering: calls on one Kernels object run in call order (host: synchronously; device: on one
// stream). Results reach the host only through download(), which waits.
//
// Every public call is counted (KernelCounts): tests use the counts to prove that each executor
// runs through this interface on each backend and computes every visible pair exactly once.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/head_layout.hpp"
#include "attn/prepared.hpp"
#include "common/view.hpp"

namespace flexcp::attn {

struct ComputeTimes {
  double compute_s = 0.0;  // wall time inside kernels (device: measured with CUDA events)
  double busy_s = 0.0;     // host: thread CPU time inside kernels; device: the same as compute_s
};

struct KernelCounts {
  std::int64_t forward = 0, merge = 0, rowsum = 0, backward = 0;
  std::int64_t fills = 0, accumulates = 0, copies = 0, conversions = 0, uploads = 0, downloads = 0;
  std::int64_t gemms = 0, elementwise = 0;  // dense layers: GEMMs; bias and GELU passes
  // Visible (query, key) pairs times query heads, summed over forward (backward) calls.
  double forward_pairs = 0.0, backward_pairs = 0.0;
};

class Kernels {
 public:
  virtual ~Kernels() = default;
  Kernels() = default;
  Kernels(const Kernels&) = delete;
  Kernels& operator=(const Kernels&) = delete;

  virtual MemorySpace space() const = 0;
  virtual std::string description() const = 0;
  // How Q, K, V and dO are stored when the attention kernels read them (fp32, or bf16 on CUDA).
  virtual Element operand_element() const = 0;

  // --- memory ---
  // `count` elements in this backend's space; contents undefined.
  virtual Buffer allocate(const std::string& label, std::int64_t count, Element element = Element::fp32) = 0;
  void upload(const float* host, const View& dst);  // dst (fp32) := host[0, dst.count)
  void download(const View& src, float* host);      // host := src (fp32); waits for the data
  void fill(const View& dst, float value);
  void accumulate(const View& dst, const View& src);  // dst += src, fp32, equal sizes
  // Q, K, V or dO as the attention kernels read them: `values` itself when operands are fp32,
  // else `values` rounded into `scratch` (grown when too small) and that part of it.
  View operand(const View& values, Buffer& scratch);

  // --- prepared structures ---
  std::shared_ptr<const PreparedSlices> prepare(SliceSet slices);
  std::shared_ptr<const PreparedCopies> prepare(std::vector<BlockCopy> blocks);
  // The blocks from `src` into `dst` (fp32), added when `accumulate`. With `accumulate`, no
  // two runs of one call may write the same element (they run in parallel).
  void copy(const PreparedCopies& blocks, const View& src, const View& dst, bool accumulate);

  // --- attention ---
  // out, lse := the partial output and log-sum-exp of q against one KV block (k, v); rows with
  // no visible key get out = 0, lse = -inf.
  void forward_partial(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                       const View& v, const View& out, const View& lse);
  // out, lse := the log-sum-exp merge of (out, lse) and (part, part_lse), row by row.
  void merge_partial(const HeadLayout& layout, const View& out, const View& lse, const View& part,
                     const View& part_lse);
  // rowsum[t][h] := sum over d of dout * out (fp32 out and dout).
  void softmax_backward_rowsum(const HeadLayout& layout, const View& out, const View& dout, const View& rowsum);
  // dq, dk, dv += this block's gradients; out (fp32), lse and rowsum belong to the final output.
  // A kernel uses rowsum (D = rowsum(dO * O)) or, like cuDNN's fused backward, recomputes D from
  // out and dout itself.
  void backward_accumulate(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                           const View& v, const View& out, const View& dout, const View& lse, const View& rowsum,
                           const View& dq, const View& dk, const View& dv);

  // --- dense layers (the multimodal projector, attn/projector.hpp) ---
  // Row-major fp32 matrices. c ([m][n]) := op(a) op(b), or += with `accumulate`, where op(a) is
  // a ([m][k]) or, with `transpose_a`, the transpose of a ([k][m]); likewise op(b) ([k][n]).
  // The host accumulates in double (the float64 check holds at 1e-4), the device in fp32.
  void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const View& a,
            const View& b, const View& c, bool accumulate);
  // x[r][j] += bias[j] for every row r of x (rows of bias.count values).
  void add_bias(const View& x, const View& bias);
  // db[j] += sum over rows r of dy[r][j] (rows of db.count values).
  void bias_gradient(const View& dy, const View& db);
  // y := GELU(x), tanh form (attn::gelu); y may be x.
  void gelu(const View& x, const View& y);
  // dx := dy * GELU'(x) (attn::gelu_derivative); dx may be dy.
  void gelu_backward(const View& x, const View& dy, const View& dx);

  // --- time and order ---
  // Runs `work` (kernel calls) and adds its time to the totals take_times() returns.
  template <class Work>
  void timed(Work&& work) {
    FLEXCP_CHECK(!timing_, "timed regions do not nest");
    timing_ = true;
    begin_timing();
    try {
      work();
    } catch (...) {
      close_timing_after_error();
      throw;
    }
    timing_ = false;
    end_timing();
  }
  // Totals since the previous call (waits for timed device work to finish).
  virtual ComputeTimes take_times() = 0;
  // Returns when every call made so far has completed.
  virtual void synchronize() = 0;

  const KernelCounts& counts() const { return counts_; }
  void reset_counts() { counts_ = KernelCounts{}; }

 protected:
  virtual std::shared_ptr<const PreparedSlices> make_prepared(SliceSet slices) = 0;
  virtual std::shared_ptr<const PreparedCopies> make_prepared(std::vector<BlockCopy> blocks) = 0;
  virtual void do_upload(const float* host, const View& dst) = 0;
  virtual void do_download(const View& src, float* host) = 0;
  virtual void do_fill(const View& dst, float value) = 0;
  virtual void do_accumulate(const View& dst, const View& src) = 0;
  virtual void do_convert(const View& src, const View& dst) = 0;  // fp32 -> dst.element
  virtual void do_copy(const PreparedCopies& blocks, const View& src, const View& dst, bool accumulate) = 0;
  virtual void do_forward_partial(const HeadLayout& layout, const PreparedSlices& slices, const View& q, const View& k,
                                  const View& v, const View& out, const View& lse) = 0;
  virtual void do_merge_partial(const HeadLayout& layout, const View& out, const View& lse, const View& part,
                                const View& part_lse) = 0;
  virtual void do_rowsum(const HeadLayout& layout, const View& out, const View& dout, const View& rowsum) = 0;
  virtual void do_backward_accumulate(const HeadLayout& layout, const PreparedSlices& slices, const View& q,
                                      const View& k, const View& v, const View& out, const View& dout, const View& lse,
                                      const View& rowsum, const View& dq, const View& dk, const View& dv) = 0;
  virtual void do_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const View& a,
                       const View& b, const View& c, bool accumulate) = 0;
  virtual void do_add_bias(const View& x, const View& bias) = 0;
  virtual void do_bias_gradient(const View& dy, const View& db) = 0;
  virtual void do_gelu(const View& x, const View& y) = 0;
  virtual void do_gelu_backward(const View& x, const View& dy, const View& dx) = 0;
  virtual void begin_timing() = 0;
  virtual void end_timing() = 0;

 private:
  void require_here(const View& view, const char* what) const;
  // The dense layers' operands: fp32 in this backend's memory.
  void require_fp32_here(std::initializer_list<const View*> views, const char* what) const;
  void close_timing_after_error() noexcept;
  KernelCounts counts_;
  bool timing_ = false;
};

}  // namespace flexcp::attn
