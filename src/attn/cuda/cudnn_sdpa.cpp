#include "attn/cuda/cudnn_sdpa.hpp"

#include <limits>
#include <map>
#include <stdexcept>

namespace flexcp::attn::cuda::cudnn {

const char* mask_name(SdpaMask mask) {
  switch (mask) {
    case SdpaMask::none: return "none";
    case SdpaMask::causal_top_left: return "causal-top-left";
    case SdpaMask::causal_bottom_right: return "causal-bottom-right";
  }
  return "?";
}

std::string SdpaDims::text() const {
  return "entries " + std::to_string(entries) + ", H_q " + std::to_string(h_q) + ", H_kv " + std::to_string(h_kv) +
         ", d " + std::to_string(d) + ", s_q <= " + std::to_string(s_q) + ", s_kv <= " + std::to_string(s_kv) +
         ", mask " + mask_name(mask) + (ragged_stats ? ", ragged Stats" : ", padded Stats") +
         (int64_offsets ? ", int64 offsets" : ", int32 offsets");
}

namespace {
// The pieces forward and backward share: THD tensors with ragged offsets, scalars, the masks.
class SdpaGraphMaker {
 public:
  SdpaGraphMaker(SdpaGraph& g, const SdpaDims& p)
      : g_(g), p_(p), offset_type_(p.int64_offsets ? CUDNN_DATA_INT64 : CUDNN_DATA_INT32), n_(p.entries),
        sq_(p.s_q), skv_(p.s_kv) {
    seq_q = device("seq_len_q", CUDNN_DATA_INT32, {n_, 1, 1, 1}, {1, 1, 1, 1}, SdpaBuffer::SeqQ);
    seq_kv = device("seq_len_kv", CUDNN_DATA_INT32, {n_, 1, 1, 1}, {1, 1, 1, 1}, SdpaBuffer::SeqKV);
  }

  GraphBuilder& b() { return g_.builder; }

  Tensor device(const std::string& name, cudnnDataType_t type, std::vector<int64_t> dims, std::vector<int64_t> strides,
                SdpaBuffer buf, std::optional<SdpaBuffer> offsets = std::nullopt) {
    std::optional<Tensor> ragged;
    if (offsets) {  // each tensor its own offset tensor (as the frontend), the device data shared
      ragged = b().tensor(name + "::ragged_offset", offset_type_, {n_ + 1, 1, 1, 1}, {1, 1, 1, 1});
      g_.bindings.emplace_back(ragged->uid, *offsets);
    }
    const Tensor t = b().tensor(name, type, std::move(dims), std::move(strides), GraphBuilder::Kind::Device,
                                ragged ? &*ragged : nullptr);
    g_.bindings.emplace_back(t.uid, buf);
    if (ragged) ragged_of_.emplace(t.uid, *ragged);
    return t;
  }
  // The ragged-offset tensor of a THD tensor made here.
  const Tensor& ragged_of(const Tensor& t) const { return ragged_of_.at(t.uid); }
  // THD: token-major, then head, then head_dim; the batch stride is unused (ragged offsets place
  // each entry). Queries side (s = max s_q, H_q) or keys side (max s_kv, H_kv).
  Tensor thd(const std::string& name, SdpaBuffer buf, bool queries) {
    const int64_t h = queries ? p_.h_q : p_.h_kv, s = queries ? sq_ : skv_, d = p_.d;
    return device(name, CUDNN_DATA_BFLOAT16, {n_, h, s, d}, {s * h * d, d, h * d, 1}, buf,
                  queries ? SdpaBuffer::OffQ : SdpaBuffer::OffKV);
  }
  // K or V as the backend's matmuls take them, transposed ({b, h, d, s}): the same memory, strides swapped.
  Tensor thd_transposed(const std::string& name, SdpaBuffer buf) {
    const int64_t h = p_.h_kv, s = skv_, d = p_.d;
    return device(name, CUDNN_DATA_BFLOAT16, {n_, h, d, s}, {s * h * d, d, 1, h * d}, buf, SdpaBuffer::OffKV);
  }
  // Stats padded [b, h_q, max s_q, 1] (the frontend's default) or ragged [tokens][h_q] (flexcp's LSE).
  Tensor stats() {
    const int64_t hq = p_.h_q;
    if (p_.ragged_stats) return device("Stats", CUDNN_DATA_FLOAT, row_dims(), {sq_ * hq, 1, hq, 1}, SdpaBuffer::Stats, SdpaBuffer::OffStats);
    return device("Stats", CUDNN_DATA_FLOAT, row_dims(), row_strides(), SdpaBuffer::Stats);
  }
  Tensor scalar(const std::string& name, float value) {
    const Tensor t = b().scalar(name, CUDNN_DATA_FLOAT);
    g_.by_value.emplace_back(t.uid, value);
    return t;
  }
  Tensor virt(const std::string& name, std::vector<int64_t> dims, std::vector<int64_t> strides, cudnnDataType_t type) {
    return b().tensor(name, type, std::move(dims), std::move(strides), GraphBuilder::Kind::Virtual);
  }
  Tensor scores(const std::string& name, cudnnDataType_t type = CUDNN_DATA_FLOAT) {  // [b, h_q, s_q, s_kv]
    const int64_t hq = p_.h_q;
    return virt(name, {n_, hq, sq_, skv_}, {hq * sq_ * skv_, sq_ * skv_, skv_, 1}, type);
  }
  Tensor scores_transposed(const std::string& name) {  // [b, h_q, s_kv, s_q], the same memory order
    const int64_t hq = p_.h_q;
    return virt(name, {n_, hq, skv_, sq_}, {hq * sq_ * skv_, sq_ * skv_, 1, skv_}, CUDNN_DATA_BFLOAT16);
  }
  std::vector<int64_t> row_dims() const { return {n_, p_.h_q, sq_, 1}; }
  std::vector<int64_t> row_strides() const { return {p_.h_q * sq_, sq_, 1, 1}; }
  int64_t n() const { return n_; }
  int64_t sq() const { return sq_; }
  int64_t skv() const { return skv_; }

  // y = mode(x[, b]) into a new virtual tensor shaped like `like`.
  Tensor pw(const std::string& name, cudnnPointwiseMode_t mode, const Tensor& x, const Tensor* b2, const Tensor& like,
            cudnnDataType_t out_type = CUDNN_DATA_FLOAT, cudnnDataType_t compute = CUDNN_DATA_FLOAT) {
    const Tensor y = b().virtual_like(name + "::Y", like, out_type);
    b().pointwise(name, mode, compute, x, b2, nullptr, y);
    return y;
  }

  // The masks as the frontend's score modifiers build them for cuDNN < 9.21:
  //   padding: select(row < seq_q && col < seq_kv, S, -inf)  (GEN_INDEX compute int32);
  //   causal:  select(row [+ seq_kv - seq_q for bottom-right] >= col, S, -inf)
  //            (CompositeDiagonalBandMaskNode, right bound 0, CMP_GE; its GEN_INDEX compute
  //            type is the context's, fp32; index outputs int32, comparisons boolean).
  Tensor padding_mask(const Tensor& s) {
    const Tensor row = b().virtual_like("gen_row_idx_padding::Y", s, CUDNN_DATA_INT32);
    b().pointwise("gen_row_idx_padding", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_INT32, s, nullptr, nullptr, row, 2);
    const Tensor col = b().virtual_like("gen_col_idx_padding::Y", s, CUDNN_DATA_INT32);
    b().pointwise("gen_col_idx_padding", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_INT32, s, nullptr, nullptr, col, 3);
    const Tensor row_ok = pw("lt_row_sq_padding", CUDNN_POINTWISE_CMP_LT, row, &seq_q, s, CUDNN_DATA_BOOLEAN, CUDNN_DATA_BOOLEAN);
    const Tensor col_ok = pw("lt_col_skv_padding", CUDNN_POINTWISE_CMP_LT, col, &seq_kv, s, CUDNN_DATA_BOOLEAN, CUDNN_DATA_BOOLEAN);
    const Tensor inside = pw("and_row_col_padding", CUDNN_POINTWISE_LOGICAL_AND, row_ok, &col_ok, s, CUDNN_DATA_BOOLEAN,
                             CUDNN_DATA_BOOLEAN);
    return select("select_padding", s, inside);
  }
  Tensor causal_mask(const Tensor& s) {
    if (p_.mask == SdpaMask::none) return s;
    Tensor row = b().virtual_like("gen_row_index::Y", s, CUDNN_DATA_INT32);
    b().pointwise("gen_row_index", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_FLOAT, s, nullptr, nullptr, row, 2);
    const Tensor col = b().virtual_like("gen_col_index::Y", s, CUDNN_DATA_INT32);
    b().pointwise("gen_col_index", CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_FLOAT, s, nullptr, nullptr, col, 3);
    if (p_.mask == SdpaMask::causal_bottom_right) {
      row = pw("row+skv", CUDNN_POINTWISE_ADD, row, &seq_kv, s, CUDNN_DATA_INT32, CUDNN_DATA_INT32);
      row = pw("row+skv-sq", CUDNN_POINTWISE_SUB, row, &seq_q, s, CUDNN_DATA_INT32, CUDNN_DATA_INT32);
    }
    const Tensor keep = pw("row>=col", CUDNN_POINTWISE_CMP_GE, row, &col, s, CUDNN_DATA_BOOLEAN, CUDNN_DATA_BOOLEAN);
    return select("causal_select", s, keep);
  }

  Tensor seq_q, seq_kv;

 private:
  Tensor select(const std::string& name, const Tensor& s, const Tensor& keep) {
    const Tensor minus_inf = scalar(name + "::-inf", -std::numeric_limits<float>::infinity());
    const Tensor y = b().virtual_like(name + "::Y", s, CUDNN_DATA_FLOAT);
    b().pointwise(name, CUDNN_POINTWISE_BINARY_SELECT, CUDNN_DATA_FLOAT, s, &minus_inf, &keep, y);
    return y;
  }

  SdpaGraph& g_;
  const SdpaDims& p_;
  cudnnDataType_t offset_type_;
  int64_t n_, sq_, skv_;
  std::map<int64_t, Tensor> ragged_of_;
};


}  // namespace

// The op sequence of cudnn-frontend's CompositeSDPANode (cuDNN < 9.21) with padding mask, scale,
// optional causal mask and Stats:
//   S = bmm1(Q, K^T) [M, N overridden by seq_len_q, seq_len_kv]; S *= scale; masks;
//   softmax: M = max(S); E = exp(S - M); Z = sum(E); Stats = M + log(Z); P = E / Z (bf16:
//   "bmm2 aType as i/o type"); O = bmm2(P, V) [M, K overridden by seq_len_q, seq_len_kv].
// Virtual tensors fp32 (the frontend's intermediate type) unless noted; compute fp32.
SdpaGraph build_forward(const SdpaDims& p, const std::string& name) {
  SdpaGraph g{GraphBuilder("sdpa-forward " + name), {}, {}};
  SdpaGraphMaker m(g, p);
  const Tensor q = m.thd("Q", SdpaBuffer::Q, true), kt = m.thd_transposed("K^T", SdpaBuffer::K), v = m.thd("V", SdpaBuffer::V, false);
  const Tensor s = m.scores("bmm1::S");
  m.b().matmul("bmm1", q, kt, s, &m.seq_q, &m.seq_kv, nullptr);
  const Tensor scale = m.scalar("attn_scale", p.scale);
  Tensor x = m.pw("attn_scale", CUDNN_POINTWISE_MUL, s, &scale, s);
  x = m.causal_mask(m.padding_mask(x));
  const Tensor max = m.virt("Max", m.row_dims(), m.row_strides(), CUDNN_DATA_FLOAT);
  m.b().reduction("Max", CUDNN_REDUCE_TENSOR_MAX, x, max);
  const Tensor exps = m.pw("exp", CUDNN_POINTWISE_EXP, m.pw("sub", CUDNN_POINTWISE_SUB, x, &max, x), nullptr, x);
  const Tensor sum = m.virt("SumExp", m.row_dims(), m.row_strides(), CUDNN_DATA_FLOAT);
  m.b().reduction("sum", CUDNN_REDUCE_TENSOR_ADD, exps, sum);
  const Tensor log_sum = m.pw("log", CUDNN_POINTWISE_LOG, sum, nullptr, sum);
  const Tensor stats = m.stats();
  m.b().pointwise("add", CUDNN_POINTWISE_ADD, CUDNN_DATA_FLOAT, max, &log_sum, nullptr, stats);
  const Tensor probs = m.pw("div", CUDNN_POINTWISE_DIV, exps, &sum, exps, CUDNN_DATA_BFLOAT16);
  const Tensor o = m.thd("O", SdpaBuffer::O, true);
  m.b().matmul("bmm2", probs, v, o, &m.seq_q, nullptr, &m.seq_kv);
  return g;
}

// The op sequence of cudnn-frontend's CompositeSDPABackwardNode (cuDNN 9.10-9.20, no dropout, no
// dP workspace, no max_total_seq_len: softmax_sum and dQ_accum padded, dK/dV full-head tensors
// virtual), with the forward's masks:
//   softmax_sum = sum_d(dO * O) * 1                       (non-virtual fp32 [b, h_q, s_q, 1])
//   S = bmm(Q, K^T) * scale; masks; E = exp(S - Stats)    (P, recomputed)
//   dV = bmm(reshape(E) [b, h_q, s_kv, s_q] bf16, dO)     (GQA: into a full-head virtual, then a sum over the group)
//   dP = bmm(dO, V^T); dS = (dP - softmax_sum) * E * scale
//   dK = bmm(reshape(dS) bf16, Q)                         (GQA as dV)
//   dQ_accum = bmm(dS, reshape(K^T)) (fp32, non-virtual); dQ = identity(dQ_accum)
SdpaGraph build_backward(const SdpaDims& p, const std::string& name) {
  SdpaGraph g{GraphBuilder("sdpa-backward " + name), {}, {}};
  SdpaGraphMaker m(g, p);
  const int64_t n = m.n(), hq = p.h_q, hk = p.h_kv, sq = m.sq(), skv = m.skv(), d = p.d;
  const Tensor q = m.thd("Q", SdpaBuffer::Q, true), kt = m.thd_transposed("K^T", SdpaBuffer::K),
               vt = m.thd_transposed("V^T", SdpaBuffer::V), o = m.thd("O", SdpaBuffer::O, true), dout = m.thd("dO", SdpaBuffer::dO, true);
  const Tensor stats = m.stats();
  const Tensor scale = m.scalar("attn_scale", p.scale), one = m.scalar("one", 1.0f);

  const Tensor do_o = m.virt("mul_dO_O::Y", {n, hq, sq, d}, {hq * sq * d, sq * d, hq * d, 1}, CUDNN_DATA_FLOAT);
  m.b().pointwise("mul_dO_O", CUDNN_POINTWISE_MUL, CUDNN_DATA_FLOAT, dout, &o, nullptr, do_o);
  const Tensor row_sum = m.virt("reduce_dO_o::Y", m.row_dims(), m.row_strides(), CUDNN_DATA_FLOAT);
  m.b().reduction("reduce_dO_o", CUDNN_REDUCE_TENSOR_ADD, do_o, row_sum);
  const Tensor softmax_sum = m.device("softmax_sum", CUDNN_DATA_FLOAT, m.row_dims(), m.row_strides(), SdpaBuffer::SoftmaxSum);
  m.b().pointwise("scale_dropout_inv", CUDNN_POINTWISE_MUL, CUDNN_DATA_FLOAT, row_sum, &one, nullptr, softmax_sum);

  const Tensor s = m.scores("matmul_Q_KT::Y");
  m.b().matmul("matmul_Q_KT", q, kt, s, &m.seq_q, &m.seq_kv, nullptr);
  Tensor x = m.pw("mul_s_attn_scale", CUDNN_POINTWISE_MUL, s, &scale, s);
  x = m.padding_mask(x);
  x = m.causal_mask(m.pw("sub_s_m", CUDNN_POINTWISE_SUB, x, &stats, x));
  const Tensor exp_s = m.pw("exp_s", CUDNN_POINTWISE_EXP, x, nullptr, x);

  // dK or dV from a transposed [b, h_q, s_kv, s_q] operand: straight into the output for MHA;
  // for GQA a full-head virtual [b, h_q, s_kv, d] summed over each group of query heads.
  const auto key_gradient = [&](const std::string& gradient, const Tensor& transposed, const Tensor& rhs, SdpaBuffer out) {
    const Tensor grad = m.thd(gradient, out, false);
    if (hq == hk) {
      m.b().matmul("matmul_" + gradient, transposed, rhs, grad, &m.seq_kv, nullptr, &m.seq_q);
      return;
    }
    const Tensor full = m.virt(gradient + "_fullhead", {n, hq, skv, d}, {hq * skv * d, skv * d, d, 1}, CUDNN_DATA_BFLOAT16);
    m.b().matmul("matmul_" + gradient, transposed, rhs, full, &m.seq_kv, nullptr, &m.seq_q);
    m.b().reduction("red_" + gradient + "_head", CUDNN_REDUCE_TENSOR_ADD, full, grad);
  };
  const Tensor p_t = m.scores_transposed("reshape_p::Y");
  m.b().reshape("reshape_p", exp_s, p_t);
  key_gradient("dV", p_t, dout, SdpaBuffer::dV);

  const Tensor dp = m.scores("matmul_dO_VT::Y");
  m.b().matmul("matmul_dO_VT", dout, vt, dp, &m.seq_q, &m.seq_kv, nullptr);
  x = m.pw("sub_dP_softmax_sum", CUDNN_POINTWISE_SUB, dp, &softmax_sum, dp);
  x = m.pw("mul_dP_exp_s", CUDNN_POINTWISE_MUL, x, &exp_s, dp);
  const Tensor ds = m.pw("mul_dS_attn_scale", CUDNN_POINTWISE_MUL, x, &scale, dp);
  const Tensor ds_t = m.scores_transposed("reshape_dS::Y");
  m.b().reshape("reshape_dS", ds, ds_t);
  key_gradient("dK", ds_t, q, SdpaBuffer::dK);

  // K back from K^T: a virtual with K's own strides and K^T's very ragged-offset tensor, as the
  // frontend does (its type left to the context: fp32).
  const Tensor k = m.b().tensor("reshape_k::Y", CUDNN_DATA_FLOAT, {n, hk, skv, d}, {skv * hk * d, d, hk * d, 1},
                                GraphBuilder::Kind::Virtual, &m.ragged_of(kt));
  m.b().reshape("reshape_k", kt, k);
  const Tensor dq_accum =
      m.device("dQ_accum", CUDNN_DATA_FLOAT, {n, hq, sq, d}, {hq * sq * d, sq * d, d, 1}, SdpaBuffer::DQAccum);
  m.b().matmul("matmul_dS_K", ds, k, dq_accum, &m.seq_q, nullptr, &m.seq_kv);
  const Tensor dq = m.thd("dQ", SdpaBuffer::dQ, true);
  m.b().pointwise("identity_dQ", CUDNN_POINTWISE_IDENTITY, CUDNN_DATA_FLOAT, dq_accum, nullptr, nullptr, dq);
  return g;
}

std::unique_ptr<SdpaPlan> make_plan(cudnnHandle_t handle, SdpaGraph graph) {
  Descriptor operation_graph = graph.builder.finalize_graph(handle);
  auto plan = build_plan(handle, operation_graph, graph.builder.name());
  if (!plan)
    throw std::runtime_error(graph.builder.name() + ": no engine config of cuDNN heuristics A or FALLBACK finalized " +
                             "as an execution plan (" + __FILE__ + ":" + std::to_string(__LINE__) + ")");
  return std::make_unique<SdpaPlan>(SdpaPlan{std::move(graph), std::move(operation_graph), std::move(*plan)});
}

void execute(cudnnHandle_t handle, SdpaPlan& plan, const std::function<void*(SdpaBuffer)>& bind, void* workspace) {
  std::vector<std::pair<std::int64_t, void*>> pointers;
  for (const auto& [uid, buffer] : plan.graph.bindings) pointers.emplace_back(uid, bind(buffer));
  for (auto& [uid, value] : plan.graph.by_value) pointers.emplace_back(uid, &value);  // host pointers for by-value scalars
  const Descriptor pack = variant_pack(pointers, workspace);
  FLEXCP_CUDNN_CHECK(cudnnBackendExecute(handle, plan.plan.plan.get(), pack.get()));
}

SdpaPlan& SdpaPlans::get(SdpaPass pass, const SdpaDims& dims) {
  auto& slot = plans_[{pass, dims}];
  if (!slot) {
    const std::string name = dims.text();
    slot = make_plan(handle_, pass == SdpaPass::forward ? build_forward(dims, name) : build_backward(dims, name));
  }
  return *slot;
}

}  // namespace flexcp::attn::cuda::cudnn
