#include "attn/cuda/cudnn_graph.hpp"

#include <algorithm>
#include <array>
#include <iostream>
#include <sstream>

namespace flexcp::attn::cuda::cudnn {

namespace {
bool verbose = false;
// The probe wants every count and refusal on stdout; flexcp's backend only the exceptions.
std::ostream& log() {
  static std::ostream quiet(nullptr);  // no buffer: every write is dropped
  return verbose ? std::cout : quiet;
}

std::string place(const std::source_location& where) {
  std::string file = where.file_name();
  const auto slash = file.find_last_of('/');
  if (slash != std::string::npos) file = file.substr(slash + 1);
  return file + ":" + std::to_string(where.line());
}
}  // namespace

void set_verbose(bool on) { verbose = on; }

std::string describe_failure(cudnnStatus_t status, const std::string& call, const std::source_location& where) {
  std::array<char, 4096> last{};
  cudnnGetLastErrorString(last.data(), last.size());
  std::ostringstream out;
  out << call << " at " << place(where) << " -> " << cudnnGetErrorString(status) << " (" << static_cast<int>(status)
      << ")";
  if (last[0] != '\0') out << ": " << last.data();
  return out.str();
}

void check(cudnnStatus_t status, const std::string& call, const std::source_location& where) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  const std::string message = describe_failure(status, call, where);
  log() << "cudnn-error " << message << std::endl;
  throw CudnnError(status, message);
}

cudnnStatus_t report(cudnnStatus_t status, const std::string& call, const std::source_location& where) {
  if (status != CUDNN_STATUS_SUCCESS) log() << "    cudnn-refused " << describe_failure(status, call, where) << std::endl;
  return status;
}

const char* attribute_name(cudnnBackendAttributeName_t attribute) {
  switch (attribute) {
#define FLEXCP_NAME(a) \
  case a:              \
    return #a;
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_DATA_TYPE)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_DIMENSIONS)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_STRIDES)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_UNIQUE_ID)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_IS_VIRTUAL)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_IS_BY_VALUE)
    FLEXCP_NAME(CUDNN_ATTR_TENSOR_RAGGED_OFFSET_DESC)
    FLEXCP_NAME(CUDNN_ATTR_POINTWISE_MODE)
    FLEXCP_NAME(CUDNN_ATTR_POINTWISE_MATH_PREC)
    FLEXCP_NAME(CUDNN_ATTR_POINTWISE_AXIS)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_XDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_BDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_TDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_YDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2)
    FLEXCP_NAME(CUDNN_ATTR_REDUCTION_OPERATOR)
    FLEXCP_NAME(CUDNN_ATTR_REDUCTION_COMP_TYPE)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_REDUCTION_DESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_REDUCTION_XDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_REDUCTION_YDESC)
    FLEXCP_NAME(CUDNN_ATTR_MATMUL_COMP_TYPE)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_ADESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_BDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_CDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_DESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_GEMM_M_OVERRIDE_DESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_GEMM_N_OVERRIDE_DESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_MATMUL_GEMM_K_OVERRIDE_DESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATIONGRAPH_HANDLE)
    FLEXCP_NAME(CUDNN_ATTR_OPERATIONGRAPH_OPS)
    FLEXCP_NAME(CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT)
    FLEXCP_NAME(CUDNN_ATTR_ENGINEHEUR_MODE)
    FLEXCP_NAME(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH)
    FLEXCP_NAME(CUDNN_ATTR_ENGINEHEUR_RESULTS)
    FLEXCP_NAME(CUDNN_ATTR_ENGINECFG_ENGINE)
    FLEXCP_NAME(CUDNN_ATTR_ENGINE_GLOBAL_INDEX)
    FLEXCP_NAME(CUDNN_ATTR_EXECUTION_PLAN_HANDLE)
    FLEXCP_NAME(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)
    FLEXCP_NAME(CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE)
    FLEXCP_NAME(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS)
    FLEXCP_NAME(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS)
    FLEXCP_NAME(CUDNN_ATTR_VARIANT_PACK_WORKSPACE)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_RESHAPE_XDESC)
    FLEXCP_NAME(CUDNN_ATTR_OPERATION_RESHAPE_YDESC)
#undef FLEXCP_NAME
    default:
      return "attribute (see cudnn_graph.h)";
  }
}

const char* descriptor_type_name(cudnnBackendDescriptorType_t type) {
  switch (type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: return "TENSOR";
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR: return "POINTWISE";
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR: return "OPERATION_POINTWISE";
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR: return "REDUCTION";
    case CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR: return "OPERATION_REDUCTION";
    case CUDNN_BACKEND_MATMUL_DESCRIPTOR: return "MATMUL";
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR: return "OPERATION_MATMUL";
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: return "OPERATIONGRAPH";
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR: return "ENGINEHEUR";
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR: return "ENGINECFG";
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR: return "ENGINE";
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: return "EXECUTION_PLAN";
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: return "VARIANT_PACK";
    case CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR: return "OPERATION_RESHAPE";
    default: return "descriptor";
  }
}

// ---- Descriptor -------------------------------------------------------------------------------

Descriptor::Descriptor(cudnnBackendDescriptorType_t type, std::string label, std::source_location where)
    : type_(type), label_(std::move(label)) {
  check(cudnnBackendCreateDescriptor(type, &desc_),
        std::string("cudnnBackendCreateDescriptor(") + descriptor_type_name(type) + ") for " + label_, where);
}

Descriptor::Descriptor(Descriptor&& other) noexcept
    : desc_(std::exchange(other.desc_, nullptr)), type_(other.type_), label_(std::move(other.label_)) {}

Descriptor& Descriptor::operator=(Descriptor&& other) noexcept {
  if (this != &other) {
    if (desc_ != nullptr) cudnnBackendDestroyDescriptor(desc_);
    desc_ = std::exchange(other.desc_, nullptr);
    type_ = other.type_;
    label_ = std::move(other.label_);
  }
  return *this;
}

Descriptor::~Descriptor() {
  if (desc_ != nullptr) cudnnBackendDestroyDescriptor(desc_);
}

std::string Descriptor::call_text(const char* function, cudnnBackendAttributeName_t a) const {
  return std::string(function) + "(" + descriptor_type_name(type_) + " '" + label_ + "', " + attribute_name(a) + ")";
}

void Descriptor::set_raw(cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t type, int64_t count,
                         const void* values, const std::source_location& where) {
  check(cudnnBackendSetAttribute(desc_, a, type, count, values), call_text("cudnnBackendSetAttribute", a), where);
}

void Descriptor::set(cudnnBackendAttributeName_t a, std::span<const int64_t> v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_INT64, static_cast<int64_t>(v.size()), v.data(), w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, int64_t v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_INT64, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, bool v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_BOOLEAN, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, float v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_FLOAT, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, cudnnDataType_t v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_DATA_TYPE, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, cudnnPointwiseMode_t v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_POINTWISE_MODE, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, cudnnReduceTensorOp_t v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, cudnnBackendHeurMode_t v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_HEUR_MODE, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, cudnnHandle_t v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_HANDLE, 1, &v, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, const Descriptor& v, std::source_location w) {
  cudnnBackendDescriptor_t raw = v.get();
  set_raw(a, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw, w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, std::span<const cudnnBackendDescriptor_t> v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<int64_t>(v.size()), v.data(), w);
}
void Descriptor::set_pointers(cudnnBackendAttributeName_t a, std::span<void* const> v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_VOID_PTR, static_cast<int64_t>(v.size()), v.data(), w);
}
void Descriptor::set(cudnnBackendAttributeName_t a, void* v, std::source_location w) {
  set_raw(a, CUDNN_TYPE_VOID_PTR, 1, &v, w);
}

void Descriptor::finalize(std::source_location where) {
  check(cudnnBackendFinalize(desc_), std::string("cudnnBackendFinalize(") + descriptor_type_name(type_) + " '" + label_ + "')",
        where);
}

cudnnStatus_t Descriptor::try_finalize(std::source_location where) {
  return report(cudnnBackendFinalize(desc_),
                std::string("cudnnBackendFinalize(") + descriptor_type_name(type_) + " '" + label_ + "')", where);
}

int64_t Descriptor::get_int64(cudnnBackendAttributeName_t a, std::source_location where) const {
  int64_t value = 0;
  int64_t count = 0;
  check(cudnnBackendGetAttribute(desc_, a, CUDNN_TYPE_INT64, 1, &count, &value), call_text("cudnnBackendGetAttribute", a),
        where);
  return value;
}

// ---- Handle -----------------------------------------------------------------------------------

Handle::Handle() { FLEXCP_CUDNN_CHECK(cudnnCreate(&handle_)); }
Handle::~Handle() {
  if (handle_ != nullptr) cudnnDestroy(handle_);
}

// ---- GraphBuilder -----------------------------------------------------------------------------

Tensor GraphBuilder::tensor(const std::string& name, cudnnDataType_t type, std::vector<int64_t> dims,
                            std::vector<int64_t> strides, Kind kind, const Tensor* ragged_offset) {
  Tensor t{static_cast<int64_t>(tensors_.size()) + 1, type, std::move(dims), std::move(strides)};
  Descriptor d(CUDNN_BACKEND_TENSOR_DESCRIPTOR, "tensor '" + name + "' uid " + std::to_string(t.uid));
  d.set(CUDNN_ATTR_TENSOR_DATA_TYPE, type);
  d.set(CUDNN_ATTR_TENSOR_DIMENSIONS, std::span<const int64_t>(t.dims));
  d.set(CUDNN_ATTR_TENSOR_STRIDES, std::span<const int64_t>(t.strides));
  d.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, t.uid);
  d.set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, int64_t{16});  // the frontend's default
  if (kind == Kind::Virtual) d.set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, true);
  if (kind == Kind::ByValue) d.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, true);
  if (ragged_offset != nullptr) d.set(CUDNN_ATTR_TENSOR_RAGGED_OFFSET_DESC, desc(*ragged_offset));
  d.finalize();
  tensors_.push_back(std::move(d));
  return t;
}

void GraphBuilder::pointwise(const std::string& name, cudnnPointwiseMode_t mode, cudnnDataType_t compute, const Tensor& x,
                             const Tensor* b, const Tensor* t, const Tensor& y, std::optional<int64_t> axis) {
  Descriptor pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR, name);
  pw.set(CUDNN_ATTR_POINTWISE_MODE, mode);
  pw.set(CUDNN_ATTR_POINTWISE_MATH_PREC, compute);
  if (axis) pw.set(CUDNN_ATTR_POINTWISE_AXIS, *axis);
  pw.finalize();
  Descriptor op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, name);
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, desc(x));
  if (b != nullptr) op.set(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, desc(*b));
  if (t != nullptr) op.set(CUDNN_ATTR_OPERATION_POINTWISE_TDESC, desc(*t));
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, desc(y));
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, 1.0f);  // as the frontend sets them
  op.set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, 1.0f);
  op.finalize();
  op_parts_.push_back(std::move(pw));
  operations_.push_back(std::move(op));
}

void GraphBuilder::reduction(const std::string& name, cudnnReduceTensorOp_t reduce, const Tensor& x, const Tensor& y) {
  Descriptor r(CUDNN_BACKEND_REDUCTION_DESCRIPTOR, name);
  r.set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_DATA_FLOAT);
  r.set(CUDNN_ATTR_REDUCTION_OPERATOR, reduce);
  r.finalize();
  Descriptor op(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR, name);
  op.set(CUDNN_ATTR_OPERATION_REDUCTION_DESC, r);
  op.set(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, desc(x));
  op.set(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, desc(y));
  op.finalize();
  op_parts_.push_back(std::move(r));
  operations_.push_back(std::move(op));
}

void GraphBuilder::matmul(const std::string& name, const Tensor& a, const Tensor& b, const Tensor& c,
                          const Tensor* m_override, const Tensor* n_override, const Tensor* k_override) {
  Descriptor mm(CUDNN_BACKEND_MATMUL_DESCRIPTOR, name);
  mm.set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_DATA_FLOAT);
  mm.finalize();
  Descriptor op(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR, name);
  op.set(CUDNN_ATTR_OPERATION_MATMUL_ADESC, desc(a));
  op.set(CUDNN_ATTR_OPERATION_MATMUL_BDESC, desc(b));
  op.set(CUDNN_ATTR_OPERATION_MATMUL_CDESC, desc(c));
  op.set(CUDNN_ATTR_OPERATION_MATMUL_DESC, mm);
  if (m_override != nullptr) op.set(CUDNN_ATTR_OPERATION_MATMUL_GEMM_M_OVERRIDE_DESC, desc(*m_override));
  if (n_override != nullptr) op.set(CUDNN_ATTR_OPERATION_MATMUL_GEMM_N_OVERRIDE_DESC, desc(*n_override));
  if (k_override != nullptr) op.set(CUDNN_ATTR_OPERATION_MATMUL_GEMM_K_OVERRIDE_DESC, desc(*k_override));
  op.finalize();
  op_parts_.push_back(std::move(mm));
  operations_.push_back(std::move(op));
}

void GraphBuilder::reshape(const std::string& name, const Tensor& x, const Tensor& y) {
  Descriptor op(CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR, name);
  op.set(CUDNN_ATTR_OPERATION_RESHAPE_XDESC, desc(x));
  op.set(CUDNN_ATTR_OPERATION_RESHAPE_YDESC, desc(y));
  op.finalize();
  operations_.push_back(std::move(op));
}

Descriptor GraphBuilder::finalize_graph(cudnnHandle_t handle) {
  std::vector<cudnnBackendDescriptor_t> ops;
  ops.reserve(operations_.size());
  for (const auto& op : operations_) ops.push_back(op.get());
  Descriptor graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, name_);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, handle);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, std::span<const cudnnBackendDescriptor_t>(ops));
  graph.finalize();
  return graph;
}

// ---- Plans ------------------------------------------------------------------------------------

namespace {
// The engine configs heuristics return for one mode (already finalized by cuDNN), or none.
std::vector<Descriptor> heuristic_configs(const Descriptor& graph, cudnnBackendHeurMode_t mode, const std::string& label) {
  Descriptor heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, label);
  heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
  heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, mode);
  if (heur.try_finalize() != CUDNN_STATUS_SUCCESS) return {};
  int64_t count = 0;
  FLEXCP_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                                       &count, nullptr));
  std::vector<Descriptor> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, label + " config " + std::to_string(i));
    raw.push_back(configs.back().get());
  }
  int64_t returned = 0;
  if (count > 0) {
    FLEXCP_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count,
                                         &returned, raw.data()));
  }
  configs.erase(configs.begin() + std::min(returned, count), configs.end());
  return configs;
}

// The global index of the engine behind a config (what cuDNN's logs and the frontend call "eng<N>");
// -1 if cuDNN does not say (diagnostics only: never a reason to skip the config).
int64_t engine_index(const Descriptor& config) {
  try {
    Descriptor engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR, config.label() + " engine");
    int64_t count = 0;
    cudnnBackendDescriptor_t raw = engine.get();
    if (report(cudnnBackendGetAttribute(config.get(), CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                        &count, &raw),
               "cudnnBackendGetAttribute(ENGINECFG, CUDNN_ATTR_ENGINECFG_ENGINE)", std::source_location::current()) !=
        CUDNN_STATUS_SUCCESS)
      return -1;
    return engine.get_int64(CUDNN_ATTR_ENGINE_GLOBAL_INDEX);
  } catch (const CudnnError&) {
    return -1;
  }
}
}  // namespace

std::optional<Plan> build_plan(cudnnHandle_t handle, const Descriptor& graph, const std::string& label) {
  try {  // diagnostics only
    log() << "  engines supporting the graph (OPERATIONGRAPH_ENGINE_GLOBAL_COUNT): "
              << graph.get_int64(CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT) << std::endl;
  } catch (const CudnnError&) {
  }
  const std::pair<cudnnBackendHeurMode_t, const char*> modes[] = {{CUDNN_HEUR_MODE_A, "A"},
                                                                  {CUDNN_HEUR_MODE_FALLBACK, "FALLBACK"}};
  for (const auto& [mode, mode_name] : modes) {
    const std::string heur_label = label + " heuristics " + mode_name;
    std::vector<Descriptor> configs = heuristic_configs(graph, mode, heur_label);
    log() << "  heuristics mode " << mode_name << ": " << configs.size() << " engine config(s)" << std::endl;
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const int64_t engine = engine_index(configs[i]);
      Descriptor plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, label + " plan");
      plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, handle);
      plan.set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[i]);
      const cudnnStatus_t status = plan.try_finalize();
      log() << "    config " << i << " (engine " << engine << "): "
                << (status == CUDNN_STATUS_SUCCESS ? "plan built" : cudnnGetErrorString(status)) << std::endl;
      if (status != CUDNN_STATUS_SUCCESS) continue;
      const int64_t workspace = plan.get_int64(CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE);
      log() << "    using engine " << engine << ", workspace " << workspace << " bytes" << std::endl;
      return Plan{std::move(configs[i]), std::move(plan), workspace, engine,
                  std::string("heuristics mode ") + mode_name + ", config " + std::to_string(i) + " of " +
                      std::to_string(configs.size())};
    }
  }
  return std::nullopt;
}

Descriptor variant_pack(std::span<const std::pair<int64_t, void*>> pointers, void* workspace) {
  std::vector<int64_t> uids;
  std::vector<void*> data;
  for (const auto& [uid, pointer] : pointers) {
    uids.push_back(uid);
    data.push_back(pointer);
  }
  Descriptor pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, "variant pack");
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, std::span<const int64_t>(uids));
  pack.set_pointers(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, std::span<void* const>(data));
  pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, workspace);
  pack.finalize();
  return pack;
}

}  // namespace flexcp::attn::cuda::cudnn
