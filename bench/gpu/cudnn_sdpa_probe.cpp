// Does cuDNN's fused attention, reached through the backend (graph) API alone, compute what
// flexcp's kernels compute, and how fast? One program, one run on a GPU machine:
//   1. correctness: small packed (THD, ragged) problems, bf16 Q/K/V/O, fp32 Stats (natural-log
//      LSE), GQA and plain MHA, masks none / causal top-left / causal bottom-right (slices whose
//      queries see keys up to their own end), against a float64 reference on the host from the
//      same bf16-rounded inputs; O and Stats are poisoned (NaN) first and every element must be
//      written;
//      then the backward (dQ, dK, dV from cuDNN's own O and Stats) against float64 gradients (the
//      reference checks itself against central differences at start-up, GPU or not);
//   2. timing: packed documents T/2, T/4, T/8, T/16, T/16 (causal inside each), T = 8K..64K,
//      H_q 32, H_kv 8, d 128, median of --repeats CUDA-event timings, TFLOP/s from the exact
//      causal area (4 d H_q per visible pair forward, 10 backward, as bench/gpu/sdpa_bench.py
//      and flexcp_bench_device), beside PyTorch's cuDNN SDPA on an H200 (bench/RESULTS.md).
// The graphs are the ones cudnn-frontend builds for its sdpa and sdpa_backward nodes with cuDNN
// 9.19 (composite softmax and diagonal-band mask; the unified SOFTMAX/DIAGONAL_BAND_MASK
// operations start at 9.21), read from the frontend's source, not linked.
// Every configuration runs independently: a failure is printed and the next one still runs.
// Without a CUDA device the program builds and finalizes every tensor and operation descriptor
// it can without a handle, says how far it got, and exits with 3.
//   flexcp_cudnn_probe [--repeats N] [--only SUBSTRING] [--int64-offsets] [--no-timing] [--no-backward]
//   (--only keeps the cases whose name contains SUBSTRING: docs, slices, ragged-stats, timing, ...)
// Exit: 0 all passed, 1 a case failed or errored, 2 setup failed on a GPU machine, 3 no device.
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "attn/cuda/cudnn_sdpa.hpp"

namespace cudnn_probe = flexcp::attn::cuda::cudnn;

namespace {
using cudnn_probe::Descriptor;
using cudnn_probe::GraphBuilder;
using cudnn_probe::Tensor;

// ---- CUDA runtime helpers ----------------------------------------------------------------------

void cuda_check(cudaError_t status, const char* call, std::source_location where = std::source_location::current()) {
  if (status == cudaSuccess) return;
  std::ostringstream out;
  out << call << " at " << where.file_name() << ":" << where.line() << " -> " << cudaGetErrorName(status) << ": "
      << cudaGetErrorString(status);
  std::cout << "cuda-error " << out.str() << std::endl;
  throw std::runtime_error(out.str());
}
#define CUDA_CHECK(call) cuda_check((call), #call)

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) { CUDA_CHECK(cudaMalloc(&data_, std::max<std::size_t>(bytes, 16))); }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  void* get() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  template <class T>
  void upload(const std::vector<T>& host) {
    CUDA_CHECK(cudaMemcpy(data_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  template <class T>
  std::vector<T> download(std::size_t count) const {
    std::vector<T> host(count);
    CUDA_CHECK(cudaMemcpy(host.data(), data_, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  // All bits set: NaN both as bf16 and as fp32, so an element the kernel never writes shows.
  void poison() { CUDA_CHECK(cudaMemset(data_, 0xFF, bytes_)); }

 private:
  void* data_ = nullptr;
  std::size_t bytes_;
};

// ---- bf16 on the host --------------------------------------------------------------------------

std::uint16_t to_bf16(float value) {  // round to nearest even; inputs here are finite
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

double from_bf16(std::uint16_t value) {
  const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
  float f = 0.0f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::vector<std::uint16_t> random_bf16(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::uint16_t> out(count);
  for (auto& x : out) x = to_bf16(normal(rng));
  return out;
}

// ---- Problems -----------------------------------------------------------------------------------

using Mask = cudnn_probe::SdpaMask;
using cudnn_probe::mask_name;

// One "batch" entry of cuDNN's ragged layout: a query range of the packed Q (and O) against a key
// range of the packed K and V, in tokens.
struct Entry {
  int64_t q_start, s_q, kv_start, s_kv;
};

struct Problem {
  std::string name;
  std::vector<Entry> entries;
  int64_t h_q = 32, h_kv = 8, d = 128;
  Mask mask = Mask::causal_top_left;
  int64_t q_tokens = 0, kv_tokens = 0;
  // Stats padded [b, h_q, max s_q, 1] (the frontend's default) or ragged [tokens][h_q] (flexcp's
  // LSE layout: a ragged offset on Stats too).
  bool ragged_stats = false;

  std::size_t stats_elements() const {
    return static_cast<std::size_t>(ragged_stats ? q_tokens * h_q : batch() * h_q * max_s_q());
  }
  std::size_t stats_index(int64_t entry, int64_t head, int64_t row) const {
    const Entry& e = entries[static_cast<std::size_t>(entry)];
    return static_cast<std::size_t>(ragged_stats ? (e.q_start + row) * h_q + head : (entry * h_q + head) * max_s_q() + row);
  }

  int64_t batch() const { return static_cast<int64_t>(entries.size()); }
  int64_t max_s_q() const {
    int64_t m = 0;
    for (const auto& e : entries) m = std::max(m, e.s_q);
    return m;
  }
  int64_t max_s_kv() const {
    int64_t m = 0;
    for (const auto& e : entries) m = std::max(m, e.s_kv);
    return m;
  }
  bool visible(int64_t i, int64_t j, const Entry& e) const {
    switch (mask) {
      case Mask::none: return true;
      case Mask::causal_top_left: return j <= i;
      case Mask::causal_bottom_right: return j <= i + e.s_kv - e.s_q;
    }
    return false;
  }
  // Visible (query, key) pairs: the FLOP count's area.
  double area() const {
    double a = 0;
    for (const auto& e : entries)
      for (int64_t i = 0; i < e.s_q; ++i) {
        const int64_t last = mask == Mask::none ? e.s_kv - 1
                             : mask == Mask::causal_top_left ? std::min(i, e.s_kv - 1)
                                                            : std::min(i + e.s_kv - e.s_q, e.s_kv - 1);
        a += static_cast<double>(std::max<int64_t>(last + 1, 0));
      }
    return a;
  }
};

// Whole documents packed back to back (queries and keys the same tokens).
Problem documents(std::string name, const std::vector<int64_t>& lengths, Mask mask, int64_t h_q, int64_t h_kv) {
  Problem p{std::move(name), {}, h_q, h_kv, 128, mask};
  for (const int64_t n : lengths) {
    p.entries.push_back({p.q_tokens, n, p.q_tokens, n});
    p.q_tokens += n;
  }
  p.kv_tokens = p.q_tokens;
  return p;
}

// Slices (s_q queries against s_kv keys), each with its own packed queries and keys.
Problem slices(std::string name, const std::vector<std::pair<int64_t, int64_t>>& shapes, Mask mask, int64_t h_q,
               int64_t h_kv) {
  Problem p{std::move(name), {}, h_q, h_kv, 128, mask};
  for (const auto& [s_q, s_kv] : shapes) {
    p.entries.push_back({p.q_tokens, s_q, p.kv_tokens, s_kv});
    p.q_tokens += s_q;
    p.kv_tokens += s_kv;
  }
  return p;
}

// ---- Graphs -------------------------------------------------------------------------------------

using Buf = cudnn_probe::SdpaBuffer;
using Graph = cudnn_probe::SdpaGraph;

float attention_scale(const Problem& p) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.d))); }

// The graphs are flexcp's (src/attn/cuda/cudnn_sdpa.cpp), for this problem's shape.
cudnn_probe::SdpaDims dims_of(const Problem& p, bool int64_offsets) {
  return {p.batch(), p.h_q, p.h_kv, p.d, p.max_s_q(), p.max_s_kv(), p.mask, p.ragged_stats, int64_offsets,
          attention_scale(p)};
}
Graph build_forward(const Problem& p, bool int64_offsets) {
  return cudnn_probe::build_forward(dims_of(p, int64_offsets), p.name);
}
Graph build_backward(const Problem& p, bool int64_offsets) {
  return cudnn_probe::build_backward(dims_of(p, int64_offsets), p.name);
}

// ---- Device data of one problem ----------------------------------------------------------------

// Element offsets of each entry's first token (`per_token` elements a token); the last one is the
// end of the packed tensor.
template <class Offset>
std::vector<Offset> ragged_offsets(const Problem& p, bool queries, int64_t per_token) {
  std::vector<Offset> out;
  for (const auto& e : p.entries) out.push_back(static_cast<Offset>((queries ? e.q_start : e.kv_start) * per_token));
  out.push_back(static_cast<Offset>((queries ? p.q_tokens : p.kv_tokens) * per_token));
  return out;
}

// The buffers of one problem, allocated as graphs bind them; inputs filled on first allocation.
class DeviceProblem {
 public:
  using Fill = std::function<void(DeviceBuffer&, int64_t count, std::uint64_t seed)>;
  DeviceProblem(const Problem& p, bool int64_offsets, Fill fill) : p_(p), int64_offsets_(int64_offsets), fill_(std::move(fill)) {}

  DeviceBuffer& get(Buf buf) {
    auto it = buffers_.find(buf);
    if (it == buffers_.end()) it = buffers_.emplace(buf, allocate(buf)).first;
    return it->second;
  }
  std::vector<std::pair<int64_t, void*>> pointers(Graph& g) {
    std::vector<std::pair<int64_t, void*>> out;
    for (const auto& [uid, buf] : g.bindings) out.emplace_back(uid, get(buf).get());
    for (auto& [uid, value] : g.by_value) out.emplace_back(uid, &value);  // host pointers for by-value scalars
    return out;
  }

 private:
  DeviceBuffer allocate(Buf buf) {
    const auto q_elems = p_.q_tokens * p_.h_q * p_.d, kv_elems = p_.kv_tokens * p_.h_kv * p_.d;
    const auto bytes = [](int64_t count, int64_t size) { return static_cast<std::size_t>(count * size); };
    const int64_t offset_size = int64_offsets_ ? 8 : 4, rows = p_.batch() * p_.h_q * p_.max_s_q();
    switch (buf) {
      case Buf::Q: case Buf::dO: {
        DeviceBuffer b(bytes(q_elems, 2));
        fill_(b, q_elems, buf == Buf::Q ? 1 : 4);
        return b;
      }
      case Buf::K: case Buf::V: {
        DeviceBuffer b(bytes(kv_elems, 2));
        fill_(b, kv_elems, buf == Buf::K ? 2 : 3);
        return b;
      }
      case Buf::O: case Buf::dQ: return DeviceBuffer(bytes(q_elems, 2));
      case Buf::dK: case Buf::dV: return DeviceBuffer(bytes(kv_elems, 2));
      case Buf::Stats: return DeviceBuffer(bytes(static_cast<int64_t>(p_.stats_elements()), 4));
      case Buf::SoftmaxSum: return DeviceBuffer(bytes(rows, 4));
      case Buf::DQAccum: return DeviceBuffer(bytes(rows * p_.d, 4));
      case Buf::SeqQ: case Buf::SeqKV: {
        std::vector<int32_t> lengths;
        for (const auto& e : p_.entries) lengths.push_back(static_cast<int32_t>(buf == Buf::SeqQ ? e.s_q : e.s_kv));
        DeviceBuffer b(bytes(p_.batch(), 4));
        b.upload(lengths);
        return b;
      }
      case Buf::OffQ: case Buf::OffKV: case Buf::OffStats: {
        // K and V share offsets (same heads and head_dim), as do Q, O, dO and dQ.
        const bool queries = buf != Buf::OffKV;
        const int64_t per_token = buf == Buf::OffQ ? p_.h_q * p_.d : buf == Buf::OffKV ? p_.h_kv * p_.d : p_.h_q;
        DeviceBuffer b(bytes(p_.batch() + 1, offset_size));
        if (int64_offsets_)
          b.upload(ragged_offsets<int64_t>(p_, queries, per_token));
        else
          b.upload(ragged_offsets<int32_t>(p_, queries, per_token));
        return b;
      }
    }
    throw std::logic_error("unknown buffer");
  }

  const Problem& p_;
  bool int64_offsets_;
  Fill fill_;
  std::map<Buf, DeviceBuffer> buffers_;
};

// A graph made executable (cudnn_probe::make_plan), its workspace and variant pack.
struct Executable {
  std::unique_ptr<cudnn_probe::SdpaPlan> plan;
  DeviceBuffer workspace;
  Descriptor pack;

  void run(cudnnHandle_t handle) const {
    FLEXCP_CUDNN_CHECK(cudnnBackendExecute(handle, plan->plan.plan.get(), pack.get()));
  }
};

Executable prepare(cudnnHandle_t handle, Graph&& g, DeviceProblem& dp) {
  std::cout << "  " << g.builder.name() << ": " << g.builder.tensor_count() << " tensors, " << g.builder.operation_count()
            << " operations finalized; building the operation graph" << std::endl;
  auto plan = cudnn_probe::make_plan(handle, std::move(g));
  DeviceBuffer workspace(static_cast<std::size_t>(plan->plan.workspace_bytes));
  const auto ptrs = dp.pointers(plan->graph);
  Descriptor pack = cudnn_probe::variant_pack(ptrs, workspace.get());
  return Executable{std::move(plan), std::move(workspace), std::move(pack)};
}

// ---- Correctness --------------------------------------------------------------------------------

// The float64 reference over every (entry, query head, row): calls `row` with the visible keys'
// probabilities (natural-log LSE too) so forward and backward checks share the softmax.
struct RowContext {
  int64_t entry, head, kv_head, row;
  std::size_t q_at;                 // element index of the row's q (and o, do, dq) vector
  std::vector<std::size_t> kv_at;   // element index of each visible key's k (and v) vector
  std::vector<double> prob;         // softmax weight of each visible key
  double lse;
};

void for_each_row(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                  const std::function<void(const RowContext&)>& row) {
  const double scale = attention_scale(p);
  const int64_t group = p.h_q / p.h_kv;
  RowContext c;
  for (c.entry = 0; c.entry < p.batch(); ++c.entry) {
    const Entry& e = p.entries[static_cast<std::size_t>(c.entry)];
    for (c.head = 0; c.head < p.h_q; ++c.head) {
      c.kv_head = c.head / group;
      for (c.row = 0; c.row < e.s_q; ++c.row) {
        c.q_at = static_cast<std::size_t>(((e.q_start + c.row) * p.h_q + c.head) * p.d);
        c.kv_at.clear();
        c.prob.clear();
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < e.s_kv; ++j) {
          if (!p.visible(c.row, j, e)) continue;
          const auto at = static_cast<std::size_t>(((e.kv_start + j) * p.h_kv + c.kv_head) * p.d);
          double dot = 0;
          for (std::size_t x = 0; x < static_cast<std::size_t>(p.d); ++x) dot += q[c.q_at + x] * k[at + x];
          c.kv_at.push_back(at);
          c.prob.push_back(dot * scale);
          m = std::max(m, dot * scale);
        }
        double z = 0;
        for (double& w : c.prob) z += (w = std::exp(w - m));
        for (double& w : c.prob) w /= z;
        c.lse = m + std::log(z);
        row(c);
      }
    }
  }
}

// Relative Frobenius error of a bf16 result against a float64 reference; NaNs (never written) counted apart.
struct Comparison {
  double diff2 = 0, ref2 = 0;
  int64_t unwritten = 0;
  void add(double got, double ref) {
    if (std::isnan(got)) {
      ++unwritten;
      return;
    }
    diff2 += (got - ref) * (got - ref);
    ref2 += ref * ref;
  }
  double rel() const { return std::sqrt(diff2 / std::max(ref2, 1e-300)); }
};

constexpr double kMaxRelFro = 2e-2, kMaxLseAbs = 1e-3;

std::vector<double> widen(const std::vector<std::uint16_t>& bf16) {
  std::vector<double> out(bf16.size());
  std::transform(bf16.begin(), bf16.end(), out.begin(), from_bf16);
  return out;
}

// Random bf16 inputs (uploaded) and the same values as doubles (for the reference).
struct HostInputs {
  std::vector<std::uint16_t> q, k, v, dout;
  std::vector<double> qd, kd, vd, doutd;
};

HostInputs host_inputs(const Problem& p) {
  const auto qn = static_cast<std::size_t>(p.q_tokens * p.h_q * p.d), kn = static_cast<std::size_t>(p.kv_tokens * p.h_kv * p.d);
  HostInputs in{random_bf16(qn, 11), random_bf16(kn, 12), random_bf16(kn, 13), random_bf16(qn, 14), {}, {}, {}, {}};
  in.qd = widen(in.q);
  in.kd = widen(in.k);
  in.vd = widen(in.v);
  in.doutd = widen(in.dout);
  return in;
}

DeviceProblem::Fill host_fill(const HostInputs& in) {
  return [&in](DeviceBuffer& buffer, int64_t, std::uint64_t which) {
    buffer.upload(which == 1 ? in.q : which == 2 ? in.k : which == 3 ? in.v : in.dout);
  };
}

// The float64 reference output O, [tokens][h_q][d] like Q.
std::vector<double> reference_output(const Problem& p, const HostInputs& in) {
  std::vector<double> o(in.qd.size(), 0.0);
  const auto d = static_cast<std::size_t>(p.d);
  for_each_row(p, in.qd, in.kd, [&](const RowContext& c) {
    for (std::size_t j = 0; j < c.kv_at.size(); ++j)
      for (std::size_t x = 0; x < d; ++x) o[c.q_at + x] += c.prob[j] * in.vd[c.kv_at[j] + x];
  });
  return o;
}

struct Gradients {
  std::vector<double> dq, dk, dv;
};

// The float64 reference gradients of sum(O * dO), with D = dO . O from the given O (cuDNN's own,
// as its backward reads it): dS = P (dO V^T - D) scale; dQ = dS K; dK = dS^T Q; dV = P^T dO;
// GQA sums over each group's query heads; overlapping key ranges sum over entries.
Gradients reference_gradients(const Problem& p, const HostInputs& in, const std::vector<double>& o) {
  Gradients g{std::vector<double>(in.qd.size(), 0.0), std::vector<double>(in.kd.size(), 0.0),
              std::vector<double>(in.kd.size(), 0.0)};
  const double scale = attention_scale(p);
  const auto d = static_cast<std::size_t>(p.d);
  for_each_row(p, in.qd, in.kd, [&](const RowContext& c) {
    double row_sum = 0;
    for (std::size_t x = 0; x < d; ++x) row_sum += in.doutd[c.q_at + x] * o[c.q_at + x];
    for (std::size_t j = 0; j < c.kv_at.size(); ++j) {
      const std::size_t kv = c.kv_at[j];
      double dp_ij = 0;
      for (std::size_t x = 0; x < d; ++x) dp_ij += in.doutd[c.q_at + x] * in.vd[kv + x];
      const double ds = c.prob[j] * (dp_ij - row_sum) * scale;
      for (std::size_t x = 0; x < d; ++x) {
        g.dq[c.q_at + x] += ds * in.kd[kv + x];
        g.dk[kv + x] += ds * in.qd[c.q_at + x];
        g.dv[kv + x] += c.prob[j] * in.doutd[c.q_at + x];
      }
    }
  });
  return g;
}

// Host-only check of the reference itself (it runs without a GPU): the analytic gradients
// against central differences of sum(O * dO) on a tiny GQA bottom-right problem.
bool reference_self_test() {
  Problem p{"self-test", {{0, 3, 0, 5}, {3, 4, 5, 4}, {7, 2, 9, 6}}, 4, 2, 8, Mask::causal_bottom_right};
  p.q_tokens = 9;
  p.kv_tokens = 15;
  HostInputs in = host_inputs(p);
  const Gradients g = reference_gradients(p, in, reference_output(p, in));
  const auto loss = [&] {
    const auto o = reference_output(p, in);
    double sum = 0;
    for (std::size_t i = 0; i < o.size(); ++i) sum += o[i] * in.doutd[i];
    return sum;
  };
  double worst = 0;
  const auto check = [&](std::vector<double>& x, const std::vector<double>& analytic) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double keep = x[i], h = 1e-6;
      x[i] = keep + h;
      const double up = loss();
      x[i] = keep - h;
      const double down = loss();
      x[i] = keep;
      worst = std::max(worst, std::abs((up - down) / (2 * h) - analytic[i]) / (1.0 + std::abs(analytic[i])));
    }
  };
  check(in.qd, g.dq);
  check(in.kd, g.dk);
  check(in.vd, g.dv);
  const bool pass = worst < 1e-6;
  std::cout << "reference-self-test gradients_vs_central_differences max_rel_err=" << std::scientific << std::setprecision(2)
            << worst << std::defaultfloat << " result=" << (pass ? "PASS" : "FAIL") << std::endl;
  return pass;
}

// Forward, then (if `backward`) backward, on fresh random inputs; outputs poisoned before each.
bool run_correctness(cudnnHandle_t handle, const Problem& p, bool int64_offsets, bool backward) {
  const HostInputs in = host_inputs(p);
  DeviceProblem dp(p, int64_offsets, host_fill(in));
  const Executable forward = prepare(handle, build_forward(p, int64_offsets), dp);
  dp.get(Buf::O).poison();
  dp.get(Buf::Stats).poison();
  forward.run(handle);
  CUDA_CHECK(cudaDeviceSynchronize());
  const auto qn = static_cast<std::size_t>(p.q_tokens * p.h_q * p.d), kn = static_cast<std::size_t>(p.kv_tokens * p.h_kv * p.d);
  const auto o = dp.get(Buf::O).download<std::uint16_t>(qn);
  const auto lse = dp.get(Buf::Stats).download<float>(p.stats_elements());

  Comparison out;
  double lse_err = 0;
  int64_t lse_unwritten = 0;
  const std::vector<double> ref_o = reference_output(p, in);
  const auto d = static_cast<std::size_t>(p.d);
  for_each_row(p, in.qd, in.kd, [&](const RowContext& c) {
    for (std::size_t x = 0; x < d; ++x) out.add(from_bf16(o[c.q_at + x]), ref_o[c.q_at + x]);
    const double got = lse[p.stats_index(c.entry, c.head, c.row)];
    if (std::isnan(got))
      ++lse_unwritten;
    else
      lse_err = std::max(lse_err, std::abs(got - c.lse));
  });
  const bool forward_pass = out.rel() <= kMaxRelFro && lse_err <= kMaxLseAbs && out.unwritten == 0 && lse_unwritten == 0;
  std::cout << "probe-check pass=forward case=" << p.name << " mask=" << mask_name(p.mask) << " h_q=" << p.h_q
            << " h_kv=" << p.h_kv << " stats=" << (p.ragged_stats ? "ragged" : "padded")
            << " engine=" << forward.plan->plan.engine_global_index << std::scientific << std::setprecision(3)
            << " o_rel_fro=" << out.rel() << " lse_max_abs=" << lse_err << std::defaultfloat
            << " unwritten_o=" << out.unwritten << " unwritten_lse=" << lse_unwritten
            << " result=" << (forward_pass ? "PASS" : "FAIL") << std::endl;
  if (!backward) return forward_pass;

  // Backward from cuDNN's own O and Stats; the reference's softmax_sum uses that O too.
  const Executable back = prepare(handle, build_backward(p, int64_offsets), dp);
  for (const Buf b : {Buf::dQ, Buf::dK, Buf::dV}) dp.get(b).poison();
  back.run(handle);
  CUDA_CHECK(cudaDeviceSynchronize());
  const auto dq = dp.get(Buf::dQ).download<std::uint16_t>(qn), dk = dp.get(Buf::dK).download<std::uint16_t>(kn),
             dv = dp.get(Buf::dV).download<std::uint16_t>(kn);
  const Gradients ref = reference_gradients(p, in, widen(o));
  // Only the elements some entry covers (overlapping key ranges are summed over entries, as the
  // reference does; whether cuDNN does is what the experimental case asks).
  std::vector<char> q_covered(qn, 0), kv_covered(kn, 0);
  for (const auto& e : p.entries) {
    std::fill_n(q_covered.begin() + static_cast<std::ptrdiff_t>(e.q_start * p.h_q * p.d), e.s_q * p.h_q * p.d, 1);
    std::fill_n(kv_covered.begin() + static_cast<std::ptrdiff_t>(e.kv_start * p.h_kv * p.d), e.s_kv * p.h_kv * p.d, 1);
  }
  Comparison cq, ck, cv;
  for (std::size_t i = 0; i < qn; ++i)
    if (q_covered[i]) cq.add(from_bf16(dq[i]), ref.dq[i]);
  for (std::size_t i = 0; i < kn; ++i)
    if (kv_covered[i]) {
      ck.add(from_bf16(dk[i]), ref.dk[i]);
      cv.add(from_bf16(dv[i]), ref.dv[i]);
    }
  const bool backward_pass = cq.rel() <= kMaxRelFro && ck.rel() <= kMaxRelFro && cv.rel() <= kMaxRelFro &&
                             cq.unwritten + ck.unwritten + cv.unwritten == 0;
  std::cout << "probe-check pass=backward case=" << p.name << " mask=" << mask_name(p.mask) << " h_q=" << p.h_q
            << " h_kv=" << p.h_kv << " engine=" << back.plan->plan.engine_global_index << std::scientific << std::setprecision(3)
            << " dq_rel_fro=" << cq.rel() << " dk_rel_fro=" << ck.rel() << " dv_rel_fro=" << cv.rel() << std::defaultfloat
            << " unwritten=" << cq.unwritten + ck.unwritten + cv.unwritten
            << " result=" << (backward_pass ? "PASS" : "FAIL") << std::endl;
  return forward_pass && backward_pass;
}

// ---- Timing -------------------------------------------------------------------------------------

std::vector<int64_t> benchmark_documents(int64_t tokens) {  // as bench/gpu/sdpa_bench.py documents()
  std::vector<int64_t> first{tokens / 2, tokens / 4, tokens / 8, tokens / 16};
  int64_t used = 0;
  for (const int64_t n : first) used += n;
  first.push_back(tokens - used);
  return first;
}

// PyTorch's cuDNN SDPA on an H200 on the same documents (bench/RESULTS.md, "GPU kernels on an H200").
double reference_tflops(int64_t tokens, bool backward) {
  switch (tokens) {
    case 8192: return backward ? 326.2 : 404.6;
    case 16384: return backward ? 442.4 : 562.1;
    case 32768: return backward ? 473.8 : 624.0;
    case 65536: return backward ? 515.2 : 581.4;
    default: return 0;
  }
}

double median_ms(cudaStream_t stream, int repeats, const std::function<void()>& run) {
  for (int i = 0; i < 3; ++i) run();  // warm-up
  CUDA_CHECK(cudaStreamSynchronize(stream));
  cudaEvent_t start = nullptr, stop = nullptr;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> times;
  for (int r = 0; r < repeats; ++r) {
    CUDA_CHECK(cudaEventRecord(start, stream));
    run();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int64_t count_nan_bf16(DeviceBuffer& buffer, std::size_t count) {
  const auto host = buffer.download<std::uint16_t>(count);
  return std::count_if(host.begin(), host.end(), [](std::uint16_t x) { return std::isnan(from_bf16(x)); });
}

void print_time(const char* pass, int64_t tokens, double ms, double flops, int64_t engine, int64_t unwritten) {
  const double tflops = flops / ms * 1e-9, ref = reference_tflops(tokens, std::string(pass) == "backward");
  std::cout << "probe-time pass=" << pass << " tokens=" << tokens << " ms=" << std::fixed << std::setprecision(4) << ms
            << " tflops=" << std::setprecision(1) << tflops << " torch_cudnn_tflops=" << ref
            << " ratio=" << std::setprecision(3) << (ref > 0 ? tflops / ref : 0.0) << std::defaultfloat
            << " engine=" << engine << " unwritten=" << unwritten << std::endl;
}

bool run_timing(cudnnHandle_t handle, cudaStream_t stream, int64_t tokens, int repeats, bool int64_offsets, bool backward) {
  const Problem p = documents("packed-" + std::to_string(tokens), benchmark_documents(tokens), Mask::causal_top_left, 32, 8);
  // Random bf16 values, one 1M-element block repeated: generating 268M normals on the host would
  // cost seconds, and the values only need to be realistic, not independent.
  const auto block = random_bf16(std::size_t{1} << 20, 21);
  DeviceProblem dp(p, int64_offsets, [&](DeviceBuffer& buffer, int64_t count, std::uint64_t) {
    for (int64_t at = 0; at < count; at += static_cast<int64_t>(block.size())) {
      const auto n = std::min<int64_t>(static_cast<int64_t>(block.size()), count - at);
      CUDA_CHECK(cudaMemcpy(static_cast<std::uint16_t*>(buffer.get()) + at, block.data(), static_cast<std::size_t>(n) * 2,
                            cudaMemcpyHostToDevice));
    }
  });
  const double flops = 4.0 * p.area() * static_cast<double>(p.d * p.h_q);  // forward; backward 2.5x
  const auto q_elems = static_cast<std::size_t>(p.q_tokens * p.h_q * p.d), kv_elems = static_cast<std::size_t>(p.kv_tokens * p.h_kv * p.d);
  const Executable forward = prepare(handle, build_forward(p, int64_offsets), dp);
  dp.get(Buf::O).poison();
  const double forward_ms = median_ms(stream, repeats, [&] { forward.run(handle); });
  const int64_t forward_nan = count_nan_bf16(dp.get(Buf::O), q_elems);
  print_time("forward", tokens, forward_ms, flops, forward.plan->plan.engine_global_index, forward_nan);
  if (!backward) return forward_nan == 0;

  const Executable back = prepare(handle, build_backward(p, int64_offsets), dp);
  for (const Buf b : {Buf::dQ, Buf::dK, Buf::dV}) dp.get(b).poison();
  const double backward_ms = median_ms(stream, repeats, [&] { back.run(handle); });
  const int64_t backward_nan = count_nan_bf16(dp.get(Buf::dQ), q_elems) + count_nan_bf16(dp.get(Buf::dK), kv_elems) +
                               count_nan_bf16(dp.get(Buf::dV), kv_elems);
  print_time("backward", tokens, backward_ms, 2.5 * flops, back.plan->plan.engine_global_index, backward_nan);
  return forward_nan == 0 && backward_nan == 0;
}

// ---- The cases ----------------------------------------------------------------------------------

Problem with_ragged_stats(Problem p) {
  p.ragged_stats = true;
  return p;
}

std::vector<Problem> correctness_problems() {
  const std::vector<int64_t> docs{1, 17, 64, 200, 333};
  // Query ranges against keys up to their own end (s_q <= s_kv), bottom-right causal: the slices
  // flexcp's needed-KV executor produces. One full square slice and a 1-query slice included.
  const std::vector<std::pair<int64_t, int64_t>> shapes{{17, 64}, {64, 200}, {1, 333}, {100, 333}, {200, 200}, {5, 17}};
  return {
      documents("docs-causal-gqa", docs, Mask::causal_top_left, 32, 8),
      slices("slices-bottom-right-gqa", shapes, Mask::causal_bottom_right, 32, 8),
      with_ragged_stats(documents("docs-causal-gqa-ragged-stats", docs, Mask::causal_top_left, 32, 8)),
      documents("docs-full-gqa", docs, Mask::none, 32, 8),
      documents("docs-causal-mha", docs, Mask::causal_top_left, 8, 8),
      slices("slices-bottom-right-mha", shapes, Mask::causal_bottom_right, 8, 8),
      slices("slices-full-gqa", shapes, Mask::none, 32, 8),
      with_ragged_stats(slices("slices-bottom-right-gqa-ragged-stats", shapes, Mask::causal_bottom_right, 32, 8)),
  };
}

// Overlapping key ranges: two slices of one 333-token document, [0,150) and [150,333), both
// reading K/V from the document's start. Ragged offsets that are not one packed partition; if
// cuDNN takes them, flexcp need not copy the shared keys. Reported, but marked experimental.
Problem overlapping_kv_problem() {
  Problem p{"experimental-shared-kv-bottom-right", {{0, 150, 0, 150}, {150, 183, 0, 333}}, 32, 8, 128, Mask::causal_bottom_right};
  p.q_tokens = 333;
  p.kv_tokens = 333;
  return p;
}

// Without a handle: every tensor and operation descriptor of every graph, created and finalized.
int dry_construct(bool int64_offsets) {
  std::vector<Problem> problems = correctness_problems();
  problems.push_back(overlapping_kv_problem());
  for (const int64_t t : {8192, 16384, 32768, 65536})
    problems.push_back(documents("packed-" + std::to_string(t), benchmark_documents(t), Mask::causal_top_left, 32, 8));
  int failures = 0;
  for (const auto& p : problems) {
    try {
      for (const bool backward : {false, true}) {
        const Graph g = backward ? build_backward(p, int64_offsets) : build_forward(p, int64_offsets);
        std::cout << "dry-construct case=" << p.name << " pass=" << (backward ? "backward" : "forward")
                  << " tensors=" << g.builder.tensor_count() << " operations=" << g.builder.operation_count()
                  << " finalized=yes (operation graph needs a handle)" << std::endl;
      }
    } catch (const std::exception& error) {
      ++failures;
      std::cout << "dry-construct case=" << p.name << " FAILED: " << error.what() << std::endl;
    }
  }
  cudnnHandle_t handle = nullptr;
  const cudnnStatus_t status = cudnnCreate(&handle);
  std::cout << "dry-construct cudnnCreate -> " << cudnnGetErrorString(status) << " (expected to fail without a GPU)"
            << std::endl;
  if (status == CUDNN_STATUS_SUCCESS) cudnnDestroy(handle);
  std::cout << "dry-construct summary: " << problems.size() - static_cast<std::size_t>(failures) << " of " << problems.size()
            << " graphs' tensors and operations finalized" << std::endl;
  return failures;
}

// Whether the libraries cuDNN loads on demand can be found (they stay loaded): without its engine libraries the
// heuristics return nothing, and its runtime-compiled engines (the fused attention ones) need NVRTC.
void report_libraries() {
  for (const char* name : {"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                           "libcudnn_heuristic.so.9", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc-builtins.so.13.0"}) {
    void* library = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
    std::string where = "not loadable";
    if (library != nullptr) {
      link_map* map = nullptr;
      where = dlinfo(library, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr ? map->l_name : "loadable";
      // Never dlclose: cuDNN's engine libraries register themselves with libcudnn_graph when
      // loaded, and unloading them before cuDNN's own loader runs left it with dangling entries
      // (a segfault in LibraryLoader::loadLibraries_ at the first finalize).
    } else if (const char* error = dlerror(); error != nullptr) {
      where += std::string(" (") + error + ")";
    }
    std::cout << "cudnn-probe: library " << name << ": " << where << std::endl;
  }
}

struct Options {
  int repeats = 10;
  std::string only;
  bool int64_offsets = false;
  bool timing = true;
  bool backward = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeats" && i + 1 < argc) o.repeats = std::max(1, std::stoi(argv[++i]));
    else if (arg == "--only" && i + 1 < argc) o.only = argv[++i];
    else if (arg == "--int64-offsets") o.int64_offsets = true;
    else if (arg == "--no-timing") o.timing = false;
    else if (arg == "--no-backward") o.backward = false;
    else throw std::invalid_argument("unknown argument " + arg +
                                     " (usage: flexcp_cudnn_probe [--repeats N] [--only SUBSTRING] [--int64-offsets] [--no-timing] [--no-backward])");
  }
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  cudnn_probe::set_verbose(true);  // every count, refusal and engine choice in the log
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << error.what() << std::endl;
    return 2;
  }
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  std::cout << "cudnn-probe: cuDNN compiled " << CUDNN_VERSION << ", loaded " << cudnnGetVersion() << " (its cudart "
            << cudnnGetCudartVersion() << "); CUDA runtime " << runtime << ", driver " << driver
            << "; ragged offsets " << (options.int64_offsets ? "int64" : "int32") << std::endl;

  report_libraries();
  const bool reference_ok = reference_self_test();
  int devices = 0;
  const cudaError_t device_status = cudaGetDeviceCount(&devices);
  if (device_status != cudaSuccess || devices == 0) {
    std::cout << "cudnn-probe: no CUDA device (" << (device_status == cudaSuccess ? "0 devices" : cudaGetErrorString(device_status))
              << "): building the graphs' descriptors only" << std::endl;
    const int failures = dry_construct(options.int64_offsets);
    std::cout << "cudnn-probe: no CUDA device, nothing executed" << (failures ? "; descriptor construction FAILED" : "")
              << std::endl;
    return 3;
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::cout << "cudnn-probe: device " << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount
            << " SMs)" << std::endl;

  std::optional<cudnn_probe::Handle> handle;
  cudaStream_t stream = nullptr;
  try {
    handle.emplace();
    CUDA_CHECK(cudaStreamCreate(&stream));
    FLEXCP_CUDNN_CHECK(cudnnSetStream(handle->get(), stream));
  } catch (const std::exception& error) {
    std::cout << "cudnn-probe: setup failed: " << error.what() << std::endl;
    return 2;
  }

  int failed = 0, total = 0;
  // `counted`: whether the case decides the exit status (the experimental one does not).
  const auto attempt = [&](const std::string& name, const std::function<bool()>& body, bool counted = true) {
    if (!options.only.empty() && name.find(options.only) == std::string::npos) return;
    total += counted;
    std::cout << "== " << name << std::endl;
    const auto start = std::chrono::steady_clock::now();
    try {
      if (!body()) failed += counted;
    } catch (const std::exception& error) {
      failed += counted;
      std::cout << "probe-error case=" << name << ": " << error.what() << std::endl;
      cudaGetLastError();  // clear a sticky-less runtime error so the next case starts clean
    }
    // Wall time per case (plan builds compile kernels): what to cut if the runner's timeout bites.
    std::cout << "== " << name << " took " << std::fixed << std::setprecision(1)
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s"
              << std::defaultfloat << std::endl;
  };
  const auto problems = correctness_problems();
  // Whole documents, the executor's bottom-right slices and ragged Stats first, then the timings
  // (the numbers the decision needs), then the rest: a runner's timeout cuts the least important.
  const bool bwd = options.backward;
  constexpr std::size_t kFirst = 3;  // correctness_problems() lists documents, slices, ragged Stats first
  for (std::size_t i = 0; i < kFirst; ++i)
    attempt(problems[i].name, [&] { return run_correctness(handle->get(), problems[i], options.int64_offsets, bwd); });
  if (options.timing)
    for (const int64_t t : {8192, 16384, 32768, 65536})
      attempt("timing-" + std::to_string(t),
              [&] { return run_timing(handle->get(), stream, t, options.repeats, options.int64_offsets, bwd); });
  for (std::size_t i = kFirst; i < problems.size(); ++i)
    attempt(problems[i].name, [&] { return run_correctness(handle->get(), problems[i], options.int64_offsets, bwd); });
  const Problem shared = overlapping_kv_problem();
  // Forward only: cuDNN's dK/dV of overlapping ranges are per entry, not summed, by construction.
  attempt(shared.name, [&] { return run_correctness(handle->get(), shared, options.int64_offsets, false); }, false);

  std::cout << "cudnn-probe summary: " << total - failed << " of " << total << " cases passed"
            << (reference_ok ? "" : "; the float64 reference FAILED its self-test: distrust every check") << std::endl;
  handle.reset();
  if (stream != nullptr) cudaStreamDestroy(stream);
  return failed == 0 ? 0 : 1;
}
