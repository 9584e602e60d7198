#include "attn/cuda/cudnn_attention.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "attn/cuda/cudnn_merge.hpp"
#include "attn/cuda/cudnn_sdpa.hpp"
#include "attn/cuda/device_attention.hpp"
#include "attn/cuda/device_copies.hpp"
#include "attn/sdpa_entries.hpp"
#include "common/error.hpp"
#include "device/buffer.hpp"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
using device::DeviceBuffer;
using cudnn::SdpaBuffer;

namespace {
// One layer's entries for one head layout: lengths, ragged element offsets and the graph dims.
struct LayerData {
  DeviceBuffer seq_q, seq_kv, off_q, off_kv, off_stats;
  cudnn::SdpaDims dims;
};

// Graph dims round the longest entry up to a power of two, so that slice sets of similar shape
// share one plan (a plan build costs 0.1-1 s); entries are bounded by their own lengths.
std::int64_t pow2_at_least(std::int64_t n) {
  std::int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// Element offsets of each entry's first row, then the furthest end (cuDNN reads one more).
template <class Offset>
DeviceBuffer offsets(const char* label, const SdpaLayer& layer, bool queries, std::int64_t per_token) {
  std::vector<Offset> out;
  std::int64_t end = 0;
  for (const auto& e : layer.entries) {
    const std::int64_t begin = queries ? e.q_begin : e.k_begin, len = queries ? e.q_len : e.k_len;
    out.push_back(static_cast<Offset>(begin * per_token));
    end = std::max(end, (begin + len) * per_token);
  }
  out.push_back(static_cast<Offset>(end));
  return DeviceBuffer::from(label, out);
}

LayerData layer_data(const HeadLayout& layout, const SdpaLayer& layer) {
  const std::int64_t h_q = layout.q_heads, h_kv = layout.kv_heads, d = layout.head_dim;
  std::vector<std::int32_t> seq_q, seq_kv;
  std::int64_t q_end = 0, k_end = 0;
  for (const auto& e : layer.entries) {
    seq_q.push_back(static_cast<std::int32_t>(e.q_len));
    seq_kv.push_back(static_cast<std::int32_t>(e.k_len));
    q_end = std::max(q_end, e.q_begin + e.q_len);
    k_end = std::max(k_end, e.k_begin + e.k_len);
  }
  cudnn::SdpaDims dims;
  dims.entries = static_cast<std::int64_t>(layer.entries.size());
  dims.h_q = h_q;
  dims.h_kv = h_kv;
  dims.d = d;
  dims.s_q = pow2_at_least(layer.max_q_len());
  dims.s_kv = pow2_at_least(layer.max_k_len());
  dims.mask = layer.mask == EntryMask::none ? cudnn::SdpaMask::none : cudnn::SdpaMask::causal_bottom_right;
  dims.ragged_stats = true;  // flexcp's lse layout, [tokens][H_q]
  // int32 offsets (what the probe timed) while every element offset fits.
  dims.int64_offsets = std::max(q_end * h_q * d, k_end * h_kv * d) > std::numeric_limits<std::int32_t>::max();
  dims.scale = layout.scale();
  LayerData data{DeviceBuffer::from("flexcp::cudnn::seq_len_q", seq_q), DeviceBuffer::from("flexcp::cudnn::seq_len_kv", seq_kv),
                 {}, {}, {}, dims};
  if (dims.int64_offsets) {
    data.off_q = offsets<std::int64_t>("flexcp::cudnn::q_offsets", layer, true, h_q * d);
    data.off_kv = offsets<std::int64_t>("flexcp::cudnn::kv_offsets", layer, false, h_kv * d);
    data.off_stats = offsets<std::int64_t>("flexcp::cudnn::stats_offsets", layer, true, h_q);
  } else {
    data.off_q = offsets<std::int32_t>("flexcp::cudnn::q_offsets", layer, true, h_q * d);
    data.off_kv = offsets<std::int32_t>("flexcp::cudnn::kv_offsets", layer, false, h_kv * d);
    data.off_stats = offsets<std::int32_t>("flexcp::cudnn::stats_offsets", layer, true, h_q);
  }
  return data;
}

using LayoutKey = std::tuple<int, int, int>;
LayoutKey key_of(const HeadLayout& layout) { return {layout.q_heads, layout.kv_heads, layout.head_dim}; }
}  // namespace

struct CudnnSlices::Impl {
  std::vector<SdpaLayer> forward, backward;
  // Per head layout, uploaded on first use. A mutex because prepared slices are const and
  // shared: the first two users may come at once.
  std::mutex mutex;
  std::map<LayoutKey, std::vector<LayerData>> forward_data, backward_data;

  const std::vector<LayerData>& data(const HeadLayout& layout, bool backward_pass) {
    const std::lock_guard lock(mutex);
    auto& cache = backward_pass ? backward_data : forward_data;
    auto it = cache.find(key_of(layout));
    if (it == cache.end()) {
      std::vector<LayerData> made;
      for (const auto& layer : backward_pass ? backward : forward) made.push_back(layer_data(layout, layer));
      it = cache.emplace(key_of(layout), std::move(made)).first;  // map nodes never move
    }
    return it->second;
  }
};

CudnnSlices::CudnnSlices(const SliceSet& slices) : impl_(std::make_unique<Impl>()) {
  impl_->forward = sdpa_layers(slices, false);
  impl_->backward = sdpa_layers(slices, true);
}
CudnnSlices::~CudnnSlices() = default;

namespace {
// One cuDNN handle and plan cache per device, shared by every CudnnAttention of the process: a
// plan build costs 0.1-1 s, and executors, tests and benchmarks make many CudaKernels. cuDNN
// handles are not thread-safe, so every use holds the mutex: building a plan, or binding the
// caller's stream and enqueuing (the execution itself stays asynchronous on that stream).
struct SharedCudnn {
  std::mutex mutex;
  cudnn::Handle handle;
  cudnn::SdpaPlans plans{handle.get()};
};

SharedCudnn& shared_cudnn() {
  static std::mutex guard;
  static std::map<int, std::unique_ptr<SharedCudnn>> per_device;
  int device = 0;
  FLEXCP_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard lock(guard);
  auto& slot = per_device[device];
  if (!slot) slot = std::make_unique<SharedCudnn>();  // throws (with cuDNN's reason) where cuDNN cannot start
  return *slot;
}
}  // namespace

struct CudnnAttention::Impl {
  cudaStream_t stream;
  SharedCudnn& cudnn;
  // Scratch, grown and kept (cudaFree waits for the device, so a buffer in flight is never freed).
  DeviceBuffer workspace, o_part, lse_part, o_bf16, dq_part, dk_part, dv_part, softmax_sum, dq_accum;

  explicit Impl(void* s) : stream(static_cast<cudaStream_t>(s)), cudnn(shared_cudnn()) {}
  cudnn::SdpaPlan& plan(cudnn::SdpaPass pass, const cudnn::SdpaDims& dims) {
    const std::lock_guard lock(cudnn.mutex);
    return cudnn.plans.get(pass, dims);  // map nodes never move: the reference outlives the lock
  }
  static void* grow(DeviceBuffer& buffer, const char* label, std::int64_t bytes) {
    if (bytes > 0 && buffer.bytes() < static_cast<std::size_t>(bytes)) {
      buffer = DeviceBuffer();  // free first: the old and the new need not fit together
      buffer = DeviceBuffer(label, static_cast<std::size_t>(bytes));
    }
    return buffer.data();
  }
  void zero(void* data, std::int64_t bytes) const {
    FLEXCP_CUDA_CHECK(cudaMemsetAsync(data, 0, static_cast<std::size_t>(bytes), stream));
  }
};

CudnnAttention::CudnnAttention(void* stream) : impl_(std::make_unique<Impl>(stream)) {}
CudnnAttention::~CudnnAttention() = default;

bool CudnnAttention::covers(const HeadLayout& layout) {
  // cuDNN's fused flash attention (engines 2 and 6 on Hopper) takes head_dim up to 128 in steps of 8.
  return layout.head_dim % 8 == 0 && layout.head_dim <= 128 && layout.q_heads % layout.kv_heads == 0;
}

std::size_t CudnnAttention::plans() const {
  const std::lock_guard lock(impl_->cudnn.mutex);
  return impl_->cudnn.plans.size();
}

void CudnnAttention::prepare_forward(const HeadLayout& layout, const CudnnSlices& slices, std::int64_t, std::int64_t) {
  for (const auto& layer : slices.impl().data(layout, false)) impl_->plan(cudnn::SdpaPass::forward, layer.dims);
}

void CudnnAttention::prepare_backward(const HeadLayout& layout, const CudnnSlices& slices, std::int64_t, std::int64_t) {
  for (const auto& layer : slices.impl().data(layout, true)) impl_->plan(cudnn::SdpaPass::backward, layer.dims);
}

namespace {
using Pointers = std::map<SdpaBuffer, const void*>;

// One cuDNN execution of `plan` over `layer`: its own lengths and offsets, the rest from
// `pointers`. cuDNN's variant pack takes void*: the inputs among them are only read.
void execute_layer(SharedCudnn& shared, cudaStream_t stream, cudnn::SdpaPlan& plan, const LayerData& layer,
                   Pointers pointers, void* workspace) {
  pointers[SdpaBuffer::SeqQ] = layer.seq_q.data();
  pointers[SdpaBuffer::SeqKV] = layer.seq_kv.data();
  pointers[SdpaBuffer::OffQ] = layer.off_q.data();
  pointers[SdpaBuffer::OffKV] = layer.off_kv.data();
  pointers[SdpaBuffer::OffStats] = layer.off_stats.data();
  const std::lock_guard lock(shared.mutex);
  FLEXCP_CUDNN_CHECK(cudnnSetStream(shared.handle.get(), stream));
  cudnn::execute(shared.handle.get(), plan, [&](SdpaBuffer buffer) {
    const auto it = pointers.find(buffer);
    if (it == pointers.end())
      throw Error("the cuDNN graph '" + plan.graph.builder.name() + "' has a tensor CudnnAttention does not bind (buffer " +
                  std::to_string(static_cast<int>(buffer)) + ", " + __FILE__ + ":" + std::to_string(__LINE__) + ")");
    return const_cast<void*>(it->second);
  }, workspace);
}
}  // namespace

void CudnnAttention::forward(const HeadLayout& layout, const CudnnSlices& slices, const void* q, const void* k,
                             const void* v, std::int64_t q_tokens, std::int64_t, float* out, float* lse) {
  auto& m = *impl_;
  const std::int64_t rows = q_tokens * layout.q_heads, elements = rows * layout.head_dim;
  if (rows == 0) return;
  fill(out, elements, 0.0f, m.stream);
  fill(lse, rows, -std::numeric_limits<float>::infinity(), m.stream);
  void* o_part = Impl::grow(m.o_part, "flexcp::cudnn::o_part", elements * 2);
  auto* lse_part = static_cast<float*>(Impl::grow(m.lse_part, "flexcp::cudnn::lse_part", rows * 4));
  for (const auto& layer : slices.impl().data(layout, false)) {
    auto& plan = m.plan(cudnn::SdpaPass::forward, layer.dims);
    void* workspace = Impl::grow(m.workspace, "flexcp::cudnn::workspace", plan.plan.workspace_bytes);
    // Rows this layer does not cover keep -inf, so the merge never reads their (unwritten) O.
    fill(lse_part, rows, -std::numeric_limits<float>::infinity(), m.stream);
    execute_layer(m.cudnn, m.stream, plan, layer,
                  {{SdpaBuffer::Q, q}, {SdpaBuffer::K, k}, {SdpaBuffer::V, v}, {SdpaBuffer::O, o_part},
                   {SdpaBuffer::Stats, lse_part}},
                  workspace);
    merge_bf16_partial(rows, layout.head_dim, out, lse, o_part, lse_part, m.stream);
  }
}

void CudnnAttention::backward(const HeadLayout& layout, const CudnnSlices& slices, const void* q, const void* k,
                              const void* v, const float* out, const void* dout, const float* lse, std::int64_t q_tokens,
                              std::int64_t kv_tokens, float* dq, float* dk, float* dv) {
  auto& m = *impl_;
  const std::int64_t q_elements = q_tokens * layout.q_heads * layout.head_dim;
  const std::int64_t kv_elements = kv_tokens * layout.kv_heads * layout.head_dim;
  const auto& layers = slices.impl().data(layout, true);
  if (layers.empty()) return;  // no visible pair: nothing to add
  // cuDNN computes D = rowsum(dO * O) itself, from O as its forward would have stored it: bf16.
  void* o_bf16 = Impl::grow(m.o_bf16, "flexcp::cudnn::o_bf16", q_elements * 2);
  to_bf16(out, o_bf16, q_elements, m.stream);
  void* dq_part = Impl::grow(m.dq_part, "flexcp::cudnn::dq_part", q_elements * 2);
  void* dk_part = Impl::grow(m.dk_part, "flexcp::cudnn::dk_part", kv_elements * 2);
  void* dv_part = Impl::grow(m.dv_part, "flexcp::cudnn::dv_part", kv_elements * 2);
  for (const auto& layer : layers) {
    auto& plan = m.plan(cudnn::SdpaPass::backward, layer.dims);
    void* workspace = Impl::grow(m.workspace, "flexcp::cudnn::workspace", plan.plan.workspace_bytes);
    void* softmax_sum = Impl::grow(m.softmax_sum, "flexcp::cudnn::softmax_sum", layer.dims.softmax_sum_elements() * 4);
    void* dq_accum = Impl::grow(m.dq_accum, "flexcp::cudnn::dq_accum", layer.dims.dq_accum_elements() * 4);
    // The layer writes (not adds) the gradients of the rows it covers; the rest must add 0.
    // dQ_accum is accumulated into by the engine: zero, as cudnn-frontend does.
    m.zero(dq_part, q_elements * 2);
    m.zero(dk_part, kv_elements * 2);
    m.zero(dv_part, kv_elements * 2);
    m.zero(dq_accum, layer.dims.dq_accum_elements() * 4);
    execute_layer(m.cudnn, m.stream, plan, layer,
                  {{SdpaBuffer::Q, q}, {SdpaBuffer::K, k}, {SdpaBuffer::V, v}, {SdpaBuffer::O, o_bf16},
                   {SdpaBuffer::dO, dout}, {SdpaBuffer::Stats, lse}, {SdpaBuffer::dQ, dq_part}, {SdpaBuffer::dK, dk_part},
                   {SdpaBuffer::dV, dv_part}, {SdpaBuffer::SoftmaxSum, softmax_sum}, {SdpaBuffer::DQAccum, dq_accum}},
                  workspace);
    accumulate_bf16(dq, dq_part, q_elements, m.stream);
    accumulate_bf16(dk, dk_part, kv_elements, m.stream);
    accumulate_bf16(dv, dv_part, kv_elements, m.stream);
  }
}

}  // namespace flexcp::attn::cuda
