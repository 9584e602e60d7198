#pragma once
// cuDNN's fused attention (SDPA forward and backward) in flexcp's packed THD layout, built on
// cudnn_graph.hpp: the operation graphs cudnn-frontend builds for its sdpa and sdpa_backward
// nodes with cuDNN 9.19 (composite softmax, padding mask, optional causal mask), ragged offsets
// on every THD tensor (each "batch" entry is a query range of the packed Q against a key range of
// the packed K/V, lengths per entry), GQA, fp32 Stats (natural-log LSE). Checked against a
// float64 reference on an H200 by bench/gpu/cudnn_sdpa_probe.cpp (results/2026-11-27-h200-run6).
//
// SdpaPlans builds, caches and runs execution plans: a plan depends only on SdpaDims (a build
// costs 0.1-1 s), while the entries' offsets and lengths are device data bound per execution.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attn/cuda/cudnn_graph.hpp"

namespace flexcp::attn::cuda::cudnn {

enum class SdpaMask { none, causal_top_left, causal_bottom_right };
const char* mask_name(SdpaMask mask);

// What a graph's dims depend on. s_q and s_kv bound every entry's lengths (the padded extent of
// the virtual score tensors and of the backward's padded softmax_sum and dQ_accum).
struct SdpaDims {
  std::int64_t entries = 1, h_q = 1, h_kv = 1, d = 128, s_q = 1, s_kv = 1;
  SdpaMask mask = SdpaMask::none;
  // Stats padded [entries][h_q][s_q] (the frontend's default) or ragged [tokens][h_q] (flexcp's
  // LSE layout: Stats gets a ragged offset too).
  bool ragged_stats = true;
  bool int64_offsets = false;  // ragged offsets int64 (else int32)
  float scale = 1.0f;          // softmax scale, usually 1/sqrt(d)
  auto operator<=>(const SdpaDims&) const = default;
  std::string text() const;
  // Elements of the backward's padded fp32 scratch tensors.
  std::int64_t softmax_sum_elements() const { return entries * h_q * s_q; }
  std::int64_t dq_accum_elements() const { return entries * h_q * s_q * d; }
};

// The device data a graph's tensors are bound to (several tensors may share one: Q and O share
// their ragged offsets, for instance). Seq*: int32 [entries]; Off*: [entries + 1] element offsets
// of each entry's first token (OffQ for Q, O, dO, dQ; OffKV for K, V, dK, dV; OffStats for Stats).
enum class SdpaBuffer { Q, K, V, O, Stats, SeqQ, SeqKV, OffQ, OffKV, OffStats, dO, dQ, dK, dV, SoftmaxSum, DQAccum };

struct SdpaGraph {
  GraphBuilder builder;
  std::vector<std::pair<std::int64_t, SdpaBuffer>> bindings;  // device tensors: uid, buffer
  std::vector<std::pair<std::int64_t, float>> by_value;       // host scalars: uid, value
};

// Forward: Q, K, V -> O (bf16), Stats (fp32). Backward: Q, K, V, O, dO, Stats -> dQ, dK, dV
// (bf16, written, not accumulated), with fp32 scratch SoftmaxSum and DQAccum (padded).
SdpaGraph build_forward(const SdpaDims& dims, const std::string& name);
SdpaGraph build_backward(const SdpaDims& dims, const std::string& name);

// A graph made executable: the operation graph (kept alive: the plan refers to it) and its plan.
struct SdpaPlan {
  SdpaGraph graph;
  Descriptor operation_graph;
  Plan plan;
};
// Throws CudnnError or std::runtime_error (no engine config finalized) with the graph's name.
std::unique_ptr<SdpaPlan> make_plan(cudnnHandle_t handle, SdpaGraph graph);

// Runs `plan` with device pointers from `bind` and `workspace` (at least plan.workspace_bytes).
void execute(cudnnHandle_t handle, SdpaPlan& plan, const std::function<void*(SdpaBuffer)>& bind, void* workspace);

enum class SdpaPass { forward, backward };

// Plans by (pass, dims), built on first use and kept: equal keys never rebuild.
class SdpaPlans {
 public:
  explicit SdpaPlans(cudnnHandle_t handle) : handle_(handle) {}
  SdpaPlan& get(SdpaPass pass, const SdpaDims& dims);
  std::size_t size() const { return plans_.size(); }

 private:
  cudnnHandle_t handle_;
  std::map<std::pair<SdpaPass, SdpaDims>, std::unique_ptr<SdpaPlan>> plans_;
};

}  // namespace flexcp::attn::cuda::cudnn
