// A thin layer over cuDNN's backend (graph) API for cudnn_sdpa.hpp and the SDPA probe
// (bench/gpu/cudnn_sdpa_probe.cpp): RAII
// for backend descriptors and the handle, typed attribute setters whose failures name the
// descriptor, the attribute and the caller's file:line, and an operation-graph builder that
// creates tensors and operations in the order cudnn-frontend would (read, not used: the frontend
// is not a dependency of flexcp). Every cuDNN failure is described where it happens, with
// cudnnGetLastErrorString(), so one run on a GPU machine says which call broke and why.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <optional>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace flexcp::attn::cuda::cudnn {

// A failed cuDNN call; the message holds the call, the place, the status and cuDNN's own text.
class CudnnError : public std::runtime_error {
 public:
  CudnnError(cudnnStatus_t status, const std::string& message) : std::runtime_error(message), status_(status) {}
  cudnnStatus_t status() const { return status_; }

 private:
  cudnnStatus_t status_;
};

// Whether failures, heuristics and plan choices are also printed on stdout (the probe's log);
// off by default: CudnnError carries the same text.
void set_verbose(bool on);
// "CALL at FILE:LINE -> STATUS_NAME: last error text". Reads (and so clears) cuDNN's last error.
std::string describe_failure(cudnnStatus_t status, const std::string& call, const std::source_location& where);
// Prints and throws CudnnError unless status is CUDNN_STATUS_SUCCESS.
void check(cudnnStatus_t status, const std::string& call, const std::source_location& where);
// Prints a failure (tagged "expected-possible" by the caller's wording) and returns the status:
// for calls that may fail without the probe failing, e.g. finalizing one of several engine configs.
cudnnStatus_t report(cudnnStatus_t status, const std::string& call, const std::source_location& where);

#define FLEXCP_CUDNN_CHECK(call) ::flexcp::attn::cuda::cudnn::check((call), #call, std::source_location::current())

const char* attribute_name(cudnnBackendAttributeName_t attribute);
const char* descriptor_type_name(cudnnBackendDescriptorType_t type);

// One backend descriptor, destroyed with its owner; move-only. `label` names it in errors
// (e.g. "tensor 'Q' uid 1", "pointwise op 'select_padding'").
class Descriptor {
 public:
  Descriptor(cudnnBackendDescriptorType_t type, std::string label,
             std::source_location where = std::source_location::current());
  Descriptor(Descriptor&& other) noexcept;
  Descriptor& operator=(Descriptor&& other) noexcept;
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor();

  cudnnBackendDescriptor_t get() const { return desc_; }
  const std::string& label() const { return label_; }

  // Typed setters: the cuDNN attribute type follows from the C++ type.
  void set(cudnnBackendAttributeName_t a, std::span<const int64_t> v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, int64_t v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, bool v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, float v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, cudnnDataType_t v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, cudnnPointwiseMode_t v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, cudnnReduceTensorOp_t v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, cudnnBackendHeurMode_t v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, cudnnHandle_t v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, const Descriptor& v, std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, std::span<const cudnnBackendDescriptor_t> v,
           std::source_location w = std::source_location::current());
  void set(cudnnBackendAttributeName_t a, void* v, std::source_location w = std::source_location::current());

  // cudnnBackendDescriptor_t is itself a void*, so pointer arrays (CUDNN_TYPE_VOID_PTR) get their own name.
  void set_pointers(cudnnBackendAttributeName_t a, std::span<void* const> v,
                    std::source_location w = std::source_location::current());

  void finalize(std::source_location where = std::source_location::current());
  // Finalize that may fail: prints the failure and returns the status instead of throwing.
  cudnnStatus_t try_finalize(std::source_location where = std::source_location::current());
  int64_t get_int64(cudnnBackendAttributeName_t a, std::source_location where = std::source_location::current()) const;

 private:
  void set_raw(cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t type, int64_t count, const void* values,
               const std::source_location& where);
  std::string call_text(const char* function, cudnnBackendAttributeName_t a) const;

  cudnnBackendDescriptor_t desc_ = nullptr;
  cudnnBackendDescriptorType_t type_;
  std::string label_;
};

class Handle {
 public:
  Handle();  // throws CudnnError (e.g. without a GPU)
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();
  cudnnHandle_t get() const { return handle_; }

 private:
  cudnnHandle_t handle_ = nullptr;
};

// A tensor of the graph as the builder knows it (the descriptor itself lives in the builder).
struct Tensor {
  int64_t uid = 0;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  std::vector<int64_t> dims;
  std::vector<int64_t> strides;
};

// Builds tensors and operations (each finalized at once, so a bad one fails where it is made),
// then the operation graph, which is the first step that needs a handle.
class GraphBuilder {
 public:
  enum class Kind { Device, Virtual, ByValue };

  explicit GraphBuilder(std::string name) : name_(std::move(name)) {}

  Tensor tensor(const std::string& name, cudnnDataType_t type, std::vector<int64_t> dims, std::vector<int64_t> strides,
                Kind kind = Kind::Device, const Tensor* ragged_offset = nullptr);
  // A host scalar passed by value ({1,1,1,1} like the frontend's fused scalars).
  Tensor scalar(const std::string& name, cudnnDataType_t type) { return tensor(name, type, {1, 1, 1, 1}, {1, 1, 1, 1}, Kind::ByValue); }
  // A virtual tensor shaped like `like` (dims and strides), of another type.
  Tensor virtual_like(const std::string& name, const Tensor& like, cudnnDataType_t type) {
    return tensor(name, type, like.dims, like.strides, Kind::Virtual);
  }

  // y = mode(x[, b[, t]]): b is IN_1 (BDESC), t is IN_2 (TDESC, the condition of BINARY_SELECT).
  void pointwise(const std::string& name, cudnnPointwiseMode_t mode, cudnnDataType_t compute, const Tensor& x,
                 const Tensor* b, const Tensor* t, const Tensor& y, std::optional<int64_t> axis = std::nullopt);
  void reduction(const std::string& name, cudnnReduceTensorOp_t op, const Tensor& x, const Tensor& y);
  void matmul(const std::string& name, const Tensor& a, const Tensor& b, const Tensor& c, const Tensor* m_override,
              const Tensor* n_override, const Tensor* k_override);

  // y = x with other dims/strides (the frontend's reshape: a transpose view for the backward's bmms).
  void reshape(const std::string& name, const Tensor& x, const Tensor& y);

  Descriptor finalize_graph(cudnnHandle_t handle);

  const std::string& name() const { return name_; }
  std::size_t tensor_count() const { return tensors_.size(); }
  std::size_t operation_count() const { return operations_.size(); }

 private:
  std::string name_;
  std::vector<Descriptor> tensors_;  // index uid - 1
  std::vector<Descriptor> operations_;
  std::vector<Descriptor> op_parts_;  // pointwise/reduction/matmul descriptors the operations refer to
  const Descriptor& desc(const Tensor& t) const { return tensors_.at(static_cast<std::size_t>(t.uid - 1)); }
};

// An execution plan that finalized, with what made it. Backend descriptors are not reference
// counted, so the plan keeps the engine config it was made from (the frontend does the same).
struct Plan {
  Descriptor config;
  Descriptor plan;
  int64_t workspace_bytes = 0;
  int64_t engine_global_index = -1;
  std::string source;  // "heuristics mode A, config 0 of 3"
};

// Tries the engine configs of CUDNN_HEUR_MODE_A, then CUDNN_HEUR_MODE_FALLBACK, in order, until
// one finalizes as an execution plan; prints every count and every failure. Nullopt if none did.
std::optional<Plan> build_plan(cudnnHandle_t handle, const Descriptor& graph, const std::string& label);

// The variant pack: device (or, for by-value tensors, host) pointers by uid, and the workspace.
Descriptor variant_pack(std::span<const std::pair<int64_t, void*>> pointers, void* workspace);

}  // namespace flexcp::attn::cuda::cudnn
