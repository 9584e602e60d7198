// Does cuDNN's fused attention, reached through the backend (graph) API alone, compute what
// flexcp's kernels compute, and how fast? One program, one run on a GPU machine:
//   1. correctness: small packed (THD, ragged) problems, bf16 Q/K/V/O, fp32 Stats (natural-log
//      LSE), GQA and plain MHA, masks none / causal top-left / causal bottom-right (slices whose
//      queries see keys up to their own end), against a float64 reference on the host from the
//      same bf16-rounded inputs; O and Stats are poisoned (NaN) first and every element must be
//      written;
//   2. timing: packed documents T/2, T/4, T/8, T/16, T/16 (causal inside each), T = 8K..64K,
//      H_q 32, H_kv 8, d 128, median of --repeats CUDA-event timings, TFLOP/s from the exact
//      causal area (4 d H_q per visible pair, as bench/gpu/sdpa_bench.py and flexcp_bench_device).
// The forward graph is the one cudnn-frontend builds for its sdpa node with cuDNN 9.19 (composite
// softmax and diagonal-band mask; the unified SOFTMAX/DIAGONAL_BAND_MASK operations start at 9.21).
// Every configuration runs independently: a failure is printed and the next one still runs.
// Without a CUDA device the program builds and finalizes every tensor and operation descriptor
// it can without a handle, says how far it got, and exits with 3.
//   flexcp_cudnn_probe [--repeats N] [--only SUBSTRING] [--int64-offsets] [--no-timing]
// Exit: 0 all passed, 1 a case failed or errored, 2 setup failed on a GPU machine, 3 no device.
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cudnn_graph.hpp"

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

enum class Mask { None, CausalTopLeft, CausalBottomRight };

const char* mask_name(Mask mask) {
  switch (mask) {
    case Mask::None: return "none";
    case Mask::CausalTopLeft: return "causal-top-left";
    case Mask::CausalBottomRight: return "causal-bottom-right";
  }
  return "?";
}

// One "batch" entry of cuDNN's ragged layout: a query range of the packed Q (and O) against a key
// range of the packed K and V, in tokens.
struct Entry {
  int64_t q_start, s_q, kv_start, s_kv;
};

struct Problem {
  std::string name;
  std::vector<Entry> entries;
  int64_t h_q = 32, h_kv = 8, d = 128;
  Mask mask = Mask::CausalTopLeft;
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
      case Mask::None: return true;
      case Mask::CausalTopLeft: return j <= i;
      case Mask::CausalBottomRight: return j <= i + e.s_kv - e.s_q;
    }
    return false;
  }
  // Visible (query, key) pairs: the FLOP count's area.
  double area() const {
    double a = 0;
    for (const auto& e : entries)
      for (int64_t i = 0; i < e.s_q; ++i) {
        const int64_t last = mask == Mask::None ? e.s_kv - 1
                             : mask == Mask::CausalTopLeft ? std::min(i, e.s_kv - 1)
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

// ---- The forward graph ---------------------------------------------------------------------------

struct ForwardGraph {
  GraphBuilder builder;
  Tensor q, k, v, o, stats, seq_q, seq_kv, ragged_q, ragged_k, ragged_v, ragged_o;
  std::optional<Tensor> ragged_stats;
  std::vector<std::pair<int64_t, float>> by_value;  // host scalars: uid, value
};

// The op sequence of cudnn-frontend's CompositeSDPANode for cuDNN < 9.21 with padding mask,
// attention scale and optional (top-left or bottom-right) causal mask, Stats requested:
//   S = bmm1(Q, K^T) [M, N overridden by seq_len_q, seq_len_kv]; S *= scale;
//   padding: S = select(row < seq_q && col < seq_kv, S, -inf);
//   causal:  S = select(row [+ seq_kv - seq_q] >= col, S, -inf);
//   softmax: M = max(S); E = exp(S - M); Z = sum(E); Stats = M + log(Z); P = E / Z (bf16);
//   O = bmm2(P, V) [M, K overridden by seq_len_q, seq_len_kv].
// Virtual tensors are fp32 (the frontend's intermediate type) except the index (int32) and
// comparison (boolean) outputs and P (bf16: "bmm2 aType as i/o type"); compute types as the
// frontend sets them (fp32 unless noted).
ForwardGraph build_forward(const Problem& p, bool int64_offsets) {
  ForwardGraph g{GraphBuilder("sdpa-forward " + p.name), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  GraphBuilder& b = g.builder;
  using Kind = GraphBuilder::Kind;
  const int64_t n = p.batch(), sq = p.max_s_q(), skv = p.max_s_kv(), hq = p.h_q, hk = p.h_kv, d = p.d;
  const cudnnDataType_t offset_type = int64_offsets ? CUDNN_DATA_INT64 : CUDNN_DATA_INT32;
  const auto ragged = [&](const std::string& name) { return b.tensor(name, offset_type, {n + 1, 1, 1, 1}, {1, 1, 1, 1}); };
  g.ragged_q = ragged("ragged_offset_q");
  g.ragged_k = ragged("ragged_offset_k");
  g.ragged_v = ragged("ragged_offset_v");
  g.ragged_o = ragged("ragged_offset_o");
  // THD: token-major, then head, then head_dim; the batch stride is unused (ragged offsets place each entry).
  g.q = b.tensor("Q", CUDNN_DATA_BFLOAT16, {n, hq, sq, d}, {sq * hq * d, d, hq * d, 1}, Kind::Device, &g.ragged_q);
  // The backend takes K transposed ({b, h, d, s}); the same memory, strides swapped.
  g.k = b.tensor("K^T", CUDNN_DATA_BFLOAT16, {n, hk, d, skv}, {skv * hk * d, d, 1, hk * d}, Kind::Device, &g.ragged_k);
  g.v = b.tensor("V", CUDNN_DATA_BFLOAT16, {n, hk, skv, d}, {skv * hk * d, d, hk * d, 1}, Kind::Device, &g.ragged_v);
  g.seq_q = b.tensor("seq_len_q", CUDNN_DATA_INT32, {n, 1, 1, 1}, {1, 1, 1, 1});
  g.seq_kv = b.tensor("seq_len_kv", CUDNN_DATA_INT32, {n, 1, 1, 1}, {1, 1, 1, 1});

  const std::vector<int64_t> score_dims{n, hq, sq, skv}, score_strides{hq * sq * skv, sq * skv, skv, 1};
  const Tensor s = b.tensor("bmm1::S", CUDNN_DATA_FLOAT, score_dims, score_strides, Kind::Virtual);
  b.matmul("bmm1", g.q, g.k, s, &g.seq_q, &g.seq_kv, nullptr);

  const auto host_scalar = [&](const std::string& name, float value) {
    const Tensor t = b.scalar(name, CUDNN_DATA_FLOAT);
    g.by_value.emplace_back(t.uid, value);
    return t;
  };
  const Tensor scale = host_scalar("attn_scale", static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))));
  const Tensor scaled = b.virtual_like("attn_scale::Y", s, CUDNN_DATA_FLOAT);
  b.pointwise("attn_scale", CUDNN_POINTWISE_MUL, CUDNN_DATA_FLOAT, s, &scale, nullptr, scaled);

  // Padding mask (frontend: attn::score_modifiers::padding_mask).
  const Tensor row = b.virtual_like("gen_row_idx_padding::Y", scaled, CUDNN_DATA_INT32);
  b.pointwise("gen_row_idx_padding", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_INT32, scaled, nullptr, nullptr, row, 2);
  const Tensor col = b.virtual_like("gen_col_idx_padding::Y", scaled, CUDNN_DATA_INT32);
  b.pointwise("gen_col_idx_padding", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_INT32, scaled, nullptr, nullptr, col, 3);
  const Tensor row_ok = b.virtual_like("lt_row_sq_padding::Y", scaled, CUDNN_DATA_BOOLEAN);
  b.pointwise("lt_row_sq_padding", CUDNN_POINTWISE_CMP_LT, CUDNN_DATA_BOOLEAN, row, &g.seq_q, nullptr, row_ok);
  const Tensor col_ok = b.virtual_like("lt_col_skv_padding::Y", scaled, CUDNN_DATA_BOOLEAN);
  b.pointwise("lt_col_skv_padding", CUDNN_POINTWISE_CMP_LT, CUDNN_DATA_BOOLEAN, col, &g.seq_kv, nullptr, col_ok);
  const Tensor inside = b.virtual_like("and_row_col_padding::Y", scaled, CUDNN_DATA_BOOLEAN);
  b.pointwise("and_row_col_padding", CUDNN_POINTWISE_LOGICAL_AND, CUDNN_DATA_BOOLEAN, row_ok, &col_ok, nullptr, inside);
  const Tensor minus_inf = host_scalar("select_padding::-inf", -std::numeric_limits<float>::infinity());
  Tensor masked = b.virtual_like("select_padding::Y", scaled, CUDNN_DATA_FLOAT);
  b.pointwise("select_padding", CUDNN_POINTWISE_BINARY_SELECT, CUDNN_DATA_FLOAT, scaled, &minus_inf, &inside, masked);

  // Causal mask (frontend: CompositeDiagonalBandMaskNode, right bound 0, comparison CMP_GE):
  // keep row (+ seq_kv - seq_q for bottom-right) >= col. Its GEN_INDEX ops leave the compute
  // type to the context (fp32); outputs int32.
  if (p.mask != Mask::None) {
    Tensor diag_row = b.virtual_like("gen_row_index::Y", masked, CUDNN_DATA_INT32);
    b.pointwise("gen_row_index", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_FLOAT, masked, nullptr, nullptr, diag_row, 2);
    const Tensor diag_col = b.virtual_like("gen_col_index::Y", masked, CUDNN_DATA_INT32);
    b.pointwise("gen_col_index", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_FLOAT, masked, nullptr, nullptr, diag_col, 3);
    if (p.mask == Mask::CausalBottomRight) {
      const Tensor plus_skv = b.virtual_like("row+skv::Y", masked, CUDNN_DATA_INT32);
      b.pointwise("row+skv", CUDNN_POINTWISE_ADD, CUDNN_DATA_INT32, diag_row, &g.seq_kv, nullptr, plus_skv);
      const Tensor minus_sq = b.virtual_like("row+skv-sq::Y", masked, CUDNN_DATA_INT32);
      b.pointwise("row+skv-sq", CUDNN_POINTWISE_SUB, CUDNN_DATA_INT32, plus_skv, &g.seq_q, nullptr, minus_sq);
      diag_row = minus_sq;
    }
    const Tensor keep = b.virtual_like("row>=col::Y", masked, CUDNN_DATA_BOOLEAN);
    b.pointwise("row>=col", CUDNN_POINTWISE_CMP_GE, CUDNN_DATA_BOOLEAN, diag_row, &diag_col, nullptr, keep);
    const Tensor causal_inf = host_scalar("causal::-inf", -std::numeric_limits<float>::infinity());
    const Tensor causal = b.virtual_like("causal_select::Y", masked, CUDNN_DATA_FLOAT);
    b.pointwise("causal_select", CUDNN_POINTWISE_BINARY_SELECT, CUDNN_DATA_FLOAT, masked, &causal_inf, &keep, causal);
    masked = causal;
  }

  // Softmax with Stats (frontend: CompositeSoftmaxNode).
  const std::vector<int64_t> row_dims{n, hq, sq, 1}, row_strides{hq * sq, sq, 1, 1};
  const Tensor max = b.tensor("Max", CUDNN_DATA_FLOAT, row_dims, row_strides, Kind::Virtual);
  b.reduction("Max", CUDNN_REDUCE_TENSOR_MAX, masked, max);
  const Tensor shifted = b.virtual_like("sub_M", masked, CUDNN_DATA_FLOAT);
  b.pointwise("sub", CUDNN_POINTWISE_SUB, CUDNN_DATA_FLOAT, masked, &max, nullptr, shifted);
  const Tensor exps = b.virtual_like("exp_sub_M", masked, CUDNN_DATA_FLOAT);
  b.pointwise("exp", CUDNN_POINTWISE_EXP, CUDNN_DATA_FLOAT, shifted, nullptr, nullptr, exps);
  const Tensor sum = b.tensor("SumExp", CUDNN_DATA_FLOAT, row_dims, row_strides, Kind::Virtual);
  b.reduction("sum", CUDNN_REDUCE_TENSOR_ADD, exps, sum);
  const Tensor log_sum = b.tensor("log::Y", CUDNN_DATA_FLOAT, row_dims, row_strides, Kind::Virtual);
  b.pointwise("log", CUDNN_POINTWISE_LOG, CUDNN_DATA_FLOAT, sum, nullptr, nullptr, log_sum);
  if (p.ragged_stats) {
    g.ragged_stats = ragged("ragged_offset_stats");
    g.stats = b.tensor("Stats", CUDNN_DATA_FLOAT, row_dims, {sq * hq, 1, hq, 1}, Kind::Device, &*g.ragged_stats);
  } else {
    g.stats = b.tensor("Stats", CUDNN_DATA_FLOAT, row_dims, row_strides);
  }
  b.pointwise("add", CUDNN_POINTWISE_ADD, CUDNN_DATA_FLOAT, max, &log_sum, nullptr, g.stats);
  const Tensor probs = b.virtual_like("softmax::S", masked, CUDNN_DATA_BFLOAT16);
  b.pointwise("div", CUDNN_POINTWISE_DIV, CUDNN_DATA_FLOAT, exps, &sum, nullptr, probs);

  g.o = b.tensor("O", CUDNN_DATA_BFLOAT16, {n, hq, sq, d}, {sq * hq * d, d, hq * d, 1}, Kind::Device, &g.ragged_o);
  b.matmul("bmm2", probs, g.v, g.o, &g.seq_q, nullptr, &g.seq_kv);
  return g;
}

// ---- Device data of one problem ----------------------------------------------------------------

struct DeviceProblem {
  DeviceBuffer q, k, v, o, stats, seq_q, seq_kv, offsets_q, offsets_kv, offsets_stats;
};

// Element offsets of each entry's first token (`per_token` elements a token); the last one is the
// end of the packed tensor.
template <class Offset>
std::vector<Offset> ragged_offsets(const Problem& p, bool queries, int64_t per_token) {
  std::vector<Offset> out;
  for (const auto& e : p.entries) out.push_back(static_cast<Offset>((queries ? e.q_start : e.kv_start) * per_token));
  out.push_back(static_cast<Offset>((queries ? p.q_tokens : p.kv_tokens) * per_token));
  return out;
}

template <class Offset>
void upload_offsets(const Problem& p, DeviceProblem& dp) {
  // K and V share offsets (same heads and head_dim), as do Q and O.
  dp.offsets_q.upload(ragged_offsets<Offset>(p, true, p.h_q * p.d));
  dp.offsets_kv.upload(ragged_offsets<Offset>(p, false, p.h_kv * p.d));
  dp.offsets_stats.upload(ragged_offsets<Offset>(p, true, p.h_q));
}

DeviceProblem upload(const Problem& p, bool int64_offsets, const std::function<void(DeviceBuffer&, int64_t, std::uint64_t)>& fill) {
  const auto qn = p.q_tokens * p.h_q * p.d, kn = p.kv_tokens * p.h_kv * p.d;
  const std::size_t offset_bytes = (int64_offsets ? 8 : 4) * static_cast<std::size_t>(p.batch() + 1);
  DeviceProblem dp{DeviceBuffer(2 * static_cast<std::size_t>(qn)), DeviceBuffer(2 * static_cast<std::size_t>(kn)),
                   DeviceBuffer(2 * static_cast<std::size_t>(kn)), DeviceBuffer(2 * static_cast<std::size_t>(qn)),
                   DeviceBuffer(4 * p.stats_elements()), DeviceBuffer(4 * static_cast<std::size_t>(p.batch())),
                   DeviceBuffer(4 * static_cast<std::size_t>(p.batch())), DeviceBuffer(offset_bytes),
                   DeviceBuffer(offset_bytes), DeviceBuffer(offset_bytes)};
  fill(dp.q, qn, 1);
  fill(dp.k, kn, 2);
  fill(dp.v, kn, 3);
  std::vector<int32_t> sq, skv;
  for (const auto& e : p.entries) {
    sq.push_back(static_cast<int32_t>(e.s_q));
    skv.push_back(static_cast<int32_t>(e.s_kv));
  }
  dp.seq_q.upload(sq);
  dp.seq_kv.upload(skv);
  if (int64_offsets)
    upload_offsets<int64_t>(p, dp);
  else
    upload_offsets<int32_t>(p, dp);
  return dp;
}

std::vector<std::pair<int64_t, void*>> pointers(ForwardGraph& g, const DeviceProblem& dp) {
  std::vector<std::pair<int64_t, void*>> out{
      {g.q.uid, dp.q.get()},           {g.k.uid, dp.k.get()},           {g.v.uid, dp.v.get()},
      {g.o.uid, dp.o.get()},           {g.stats.uid, dp.stats.get()},   {g.seq_q.uid, dp.seq_q.get()},
      {g.seq_kv.uid, dp.seq_kv.get()}, {g.ragged_q.uid, dp.offsets_q.get()}, {g.ragged_o.uid, dp.offsets_q.get()},
      {g.ragged_k.uid, dp.offsets_kv.get()}, {g.ragged_v.uid, dp.offsets_kv.get()}};
  if (g.ragged_stats) out.emplace_back(g.ragged_stats->uid, dp.offsets_stats.get());
  for (auto& [uid, value] : g.by_value) out.emplace_back(uid, &value);  // host pointers for by-value scalars
  return out;
}

// A graph made executable: the operation graph (kept alive: the plan refers to it), plan,
// workspace, variant pack.
struct Executable {
  Descriptor graph;
  cudnn_probe::Plan plan;
  DeviceBuffer workspace;
  Descriptor pack;
};

Executable prepare(cudnnHandle_t handle, ForwardGraph& g, const DeviceProblem& dp) {
  std::cout << "  " << g.builder.tensor_count() << " tensors, " << g.builder.operation_count()
            << " operations finalized; building the operation graph" << std::endl;
  Descriptor graph = g.builder.finalize_graph(handle);
  auto plan = cudnn_probe::build_plan(handle, graph, g.builder.name());
  if (!plan) throw std::runtime_error("no engine config of heuristics A or FALLBACK finalized as an execution plan");
  DeviceBuffer workspace(static_cast<std::size_t>(plan->workspace_bytes));
  const auto ptrs = pointers(g, dp);
  Descriptor pack = cudnn_probe::variant_pack(ptrs, workspace.get());
  return Executable{std::move(graph), std::move(*plan), std::move(workspace), std::move(pack)};
}

// ---- Correctness --------------------------------------------------------------------------------

struct Errors {
  double o_rel_fro = 0, lse_max_abs = 0;
  int64_t unwritten_o = 0, unwritten_lse = 0;
};

Errors compare(const Problem& p, const std::vector<std::uint16_t>& q, const std::vector<std::uint16_t>& k,
               const std::vector<std::uint16_t>& v, const std::vector<std::uint16_t>& o, const std::vector<float>& lse) {
  Errors err;
  double diff2 = 0, ref2 = 0;
  const double scale = 1.0 / std::sqrt(static_cast<double>(p.d));
  const int64_t group = p.h_q / p.h_kv;
  std::vector<double> scores, acc(static_cast<std::size_t>(p.d));
  for (int64_t b = 0; b < p.batch(); ++b) {
    const Entry& e = p.entries[static_cast<std::size_t>(b)];
    for (int64_t h = 0; h < p.h_q; ++h) {
      const int64_t hk = h / group;
      for (int64_t i = 0; i < e.s_q; ++i) {
        const auto qi = static_cast<std::size_t>(((e.q_start + i) * p.h_q + h) * p.d);
        scores.assign(static_cast<std::size_t>(e.s_kv), -std::numeric_limits<double>::infinity());
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < e.s_kv; ++j) {
          if (!p.visible(i, j, e)) continue;
          const auto kj = static_cast<std::size_t>(((e.kv_start + j) * p.h_kv + hk) * p.d);
          double dot = 0;
          for (int64_t c = 0; c < p.d; ++c) dot += from_bf16(q[qi + static_cast<std::size_t>(c)]) * from_bf16(k[kj + static_cast<std::size_t>(c)]);
          scores[static_cast<std::size_t>(j)] = dot * scale;
          m = std::max(m, dot * scale);
        }
        double z = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < e.s_kv; ++j) {
          if (!p.visible(i, j, e)) continue;
          const double w = std::exp(scores[static_cast<std::size_t>(j)] - m);
          z += w;
          const auto vj = static_cast<std::size_t>(((e.kv_start + j) * p.h_kv + hk) * p.d);
          for (int64_t c = 0; c < p.d; ++c) acc[static_cast<std::size_t>(c)] += w * from_bf16(v[vj + static_cast<std::size_t>(c)]);
        }
        for (int64_t c = 0; c < p.d; ++c) {
          const double ref = acc[static_cast<std::size_t>(c)] / z, got = from_bf16(o[qi + static_cast<std::size_t>(c)]);
          if (std::isnan(got)) {
            ++err.unwritten_o;
            continue;
          }
          diff2 += (got - ref) * (got - ref);
          ref2 += ref * ref;
        }
        const double got_lse = lse[p.stats_index(b, h, i)];
        if (std::isnan(got_lse))
          ++err.unwritten_lse;
        else
          err.lse_max_abs = std::max(err.lse_max_abs, std::abs(got_lse - (m + std::log(z))));
      }
    }
  }
  err.o_rel_fro = std::sqrt(diff2 / std::max(ref2, 1e-300));
  return err;
}

constexpr double kMaxORelFro = 2e-2, kMaxLseAbs = 1e-3;

bool run_correctness(cudnnHandle_t handle, const Problem& p, bool int64_offsets) {
  const auto qn = static_cast<std::size_t>(p.q_tokens * p.h_q * p.d), kn = static_cast<std::size_t>(p.kv_tokens * p.h_kv * p.d);
  const auto hq = random_bf16(qn, 11), hk = random_bf16(kn, 12), hv = random_bf16(kn, 13);
  const auto fill = [&](DeviceBuffer& buffer, int64_t, std::uint64_t which) {
    buffer.upload(which == 1 ? hq : which == 2 ? hk : hv);
  };
  DeviceProblem dp = upload(p, int64_offsets, fill);
  ForwardGraph g = build_forward(p, int64_offsets);
  Executable exe = prepare(handle, g, dp);
  dp.o.poison();
  dp.stats.poison();
  CUDNN_CHECK(cudnnBackendExecute(handle, exe.plan.plan.get(), exe.pack.get()));
  CUDA_CHECK(cudaDeviceSynchronize());
  const auto o = dp.o.download<std::uint16_t>(qn);
  const auto lse = dp.stats.download<float>(p.stats_elements());
  const Errors err = compare(p, hq, hk, hv, o, lse);
  const bool pass = err.o_rel_fro <= kMaxORelFro && err.lse_max_abs <= kMaxLseAbs && err.unwritten_o == 0 &&
                    err.unwritten_lse == 0;
  std::cout << "probe-check case=" << p.name << " mask=" << mask_name(p.mask) << " h_q=" << p.h_q << " h_kv=" << p.h_kv
            << " stats=" << (p.ragged_stats ? "ragged" : "padded") << " engine=" << exe.plan.engine_global_index << " o_rel_fro=" << std::scientific << std::setprecision(3)
            << err.o_rel_fro << " lse_max_abs=" << err.lse_max_abs << std::defaultfloat
            << " unwritten_o=" << err.unwritten_o << " unwritten_lse=" << err.unwritten_lse
            << " result=" << (pass ? "PASS" : "FAIL") << std::endl;
  return pass;
}

// ---- Timing -------------------------------------------------------------------------------------

std::vector<int64_t> benchmark_documents(int64_t tokens) {  // as bench/gpu/sdpa_bench.py documents()
  std::vector<int64_t> first{tokens / 2, tokens / 4, tokens / 8, tokens / 16};
  int64_t used = 0;
  for (const int64_t n : first) used += n;
  first.push_back(tokens - used);
  return first;
}

double reference_tflops(int64_t tokens) {  // PyTorch cuDNN SDPA forward on an H200, bench/RESULTS.md
  switch (tokens) {
    case 8192: return 404.6;
    case 16384: return 562.1;
    case 32768: return 624.0;
    case 65536: return 581.4;
    default: return 0;
  }
}

bool run_timing(cudnnHandle_t handle, cudaStream_t stream, int64_t tokens, int repeats, bool int64_offsets) {
  const Problem p = documents("packed-" + std::to_string(tokens), benchmark_documents(tokens), Mask::CausalTopLeft, 32, 8);
  // Random bf16 values, one 1M-element block repeated: generating 268M normals on the host would
  // cost seconds, and the values only need to be realistic, not independent.
  const auto block = random_bf16(std::size_t{1} << 20, 21);
  const auto fill = [&](DeviceBuffer& buffer, int64_t count, std::uint64_t) {
    for (int64_t at = 0; at < count; at += static_cast<int64_t>(block.size())) {
      const auto n = std::min<int64_t>(static_cast<int64_t>(block.size()), count - at);
      CUDA_CHECK(cudaMemcpy(static_cast<std::uint16_t*>(buffer.get()) + at, block.data(), static_cast<std::size_t>(n) * 2,
                            cudaMemcpyHostToDevice));
    }
  };
  DeviceProblem dp = upload(p, int64_offsets, fill);
  ForwardGraph g = build_forward(p, int64_offsets);
  Executable exe = prepare(handle, g, dp);
  dp.o.poison();
  const auto run = [&] { CUDNN_CHECK(cudnnBackendExecute(handle, exe.plan.plan.get(), exe.pack.get())); };
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
  const double ms = times[times.size() / 2];
  // Every output element written (a cheap sanity check at scale: NaN count of O).
  const auto o = dp.o.download<std::uint16_t>(static_cast<std::size_t>(p.q_tokens * p.h_q * p.d));
  const auto nan = std::count_if(o.begin(), o.end(), [](std::uint16_t x) { return std::isnan(from_bf16(x)); });
  const double tflops = 4.0 * p.area() * static_cast<double>(p.d * p.h_q) / ms * 1e-9;
  const double ref = reference_tflops(tokens);
  std::cout << "probe-time pass=forward tokens=" << tokens << " ms=" << std::fixed << std::setprecision(4) << ms
            << " tflops=" << std::setprecision(1) << tflops << " torch_cudnn_tflops=" << ref
            << " ratio=" << std::setprecision(3) << (ref > 0 ? tflops / ref : 0.0) << std::defaultfloat
            << " engine=" << exe.plan.engine_global_index << " unwritten_o=" << nan << std::endl;
  return nan == 0;
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
      documents("docs-causal-gqa", docs, Mask::CausalTopLeft, 32, 8),
      documents("docs-full-gqa", docs, Mask::None, 32, 8),
      slices("slices-bottom-right-gqa", shapes, Mask::CausalBottomRight, 32, 8),
      documents("docs-causal-mha", docs, Mask::CausalTopLeft, 8, 8),
      slices("slices-bottom-right-mha", shapes, Mask::CausalBottomRight, 8, 8),
      slices("slices-full-gqa", shapes, Mask::None, 32, 8),
      with_ragged_stats(documents("docs-causal-gqa-ragged-stats", docs, Mask::CausalTopLeft, 32, 8)),
      with_ragged_stats(slices("slices-bottom-right-gqa-ragged-stats", shapes, Mask::CausalBottomRight, 32, 8)),
  };
}

// Overlapping key ranges: two slices of one 333-token document, [0,150) and [150,333), both
// reading K/V from the document's start. Ragged offsets that are not one packed partition; if
// cuDNN takes them, flexcp need not copy the shared keys. Reported, but marked experimental.
Problem overlapping_kv_problem() {
  Problem p{"experimental-shared-kv-bottom-right", {{0, 150, 0, 150}, {150, 183, 0, 333}}, 32, 8, 128, Mask::CausalBottomRight};
  p.q_tokens = 333;
  p.kv_tokens = 333;
  return p;
}

// Without a handle: every tensor and operation descriptor of every graph, created and finalized.
int dry_construct(bool int64_offsets) {
  std::vector<Problem> problems = correctness_problems();
  problems.push_back(overlapping_kv_problem());
  for (const int64_t t : {8192, 16384, 32768, 65536})
    problems.push_back(documents("packed-" + std::to_string(t), benchmark_documents(t), Mask::CausalTopLeft, 32, 8));
  int failures = 0;
  for (const auto& p : problems) {
    try {
      ForwardGraph g = build_forward(p, int64_offsets);
      std::cout << "dry-construct case=" << p.name << " tensors=" << g.builder.tensor_count()
                << " operations=" << g.builder.operation_count() << " finalized=yes (operation graph needs a handle)"
                << std::endl;
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

// Whether the libraries cuDNN loads on demand can be found: without its engine libraries the
// heuristics return nothing, and its runtime-compiled engines (the fused attention ones) need NVRTC.
void report_libraries() {
  for (const char* name : {"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                           "libcudnn_heuristic.so.9", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc-builtins.so.13.0"}) {
    void* library = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
    std::string where = "not loadable";
    if (library != nullptr) {
      link_map* map = nullptr;
      where = dlinfo(library, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr ? map->l_name : "loadable";
      dlclose(library);
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
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeats" && i + 1 < argc) o.repeats = std::max(1, std::stoi(argv[++i]));
    else if (arg == "--only" && i + 1 < argc) o.only = argv[++i];
    else if (arg == "--int64-offsets") o.int64_offsets = true;
    else if (arg == "--no-timing") o.timing = false;
    else throw std::invalid_argument("unknown argument " + arg +
                                     " (usage: flexcp_cudnn_probe [--repeats N] [--only SUBSTRING] [--int64-offsets] [--no-timing])");
  }
  return o;
}
}  // namespace

int main(int argc, char** argv) {
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
    CUDNN_CHECK(cudnnSetStream(handle->get(), stream));
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
    try {
      if (!body()) failed += counted;
    } catch (const std::exception& error) {
      failed += counted;
      std::cout << "probe-error case=" << name << ": " << error.what() << std::endl;
      cudaGetLastError();  // clear a sticky-less runtime error so the next case starts clean
    }
  };
  const auto problems = correctness_problems();
  // The first correctness case, then the timings (the numbers the decision needs), then the rest:
  // if the runner's timeout strikes, what it cuts is the least important.
  attempt(problems.front().name, [&] { return run_correctness(handle->get(), problems.front(), options.int64_offsets); });
  if (options.timing)
    for (const int64_t t : {8192, 16384, 32768, 65536})
      attempt("timing-" + std::to_string(t), [&] { return run_timing(handle->get(), stream, t, options.repeats, options.int64_offsets); });
  for (std::size_t i = 1; i < problems.size(); ++i)
    attempt(problems[i].name, [&] { return run_correctness(handle->get(), problems[i], options.int64_offsets); });
  const Problem shared = overlapping_kv_problem();
  attempt(shared.name, [&] { return run_correctness(handle->get(), shared, options.int64_offsets); }, false);

  std::cout << "cudnn-probe summary: " << total - failed << " of " << total << " cases passed" << std::endl;
  handle.reset();
  if (stream != nullptr) cudaStreamDestroy(stream);
  return failed == 0 ? 0 : 1;
}
