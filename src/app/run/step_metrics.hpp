#pragma once
// What one step of one strategy measured on each rank, and what rank 0 keeps of a whole run.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flexcp {

struct RankStepMetrics {
  double plan_s = 0.0;         // wall: this rank planning and compiling its program (not the plan agreement)
  double comm_wait_s = 0.0;    // wall: blocked waiting for communication
  double compute_s = 0.0;      // wall: inside attention kernels
  double busy_s = 0.0;         // thread CPU time inside kernels (meaningful when oversubscribed)
  double step_s = 0.0;         // wall: the whole step on this rank
  double kv_bytes_sent = 0.0;  // bytes this rank sent (KV forward and backward, dK/dV)
  double tokens = 0.0;         // tokens whose queries this rank owns
  double attn_flops = 0.0;     // forward + backward attention FLOPs from this rank's mask area
  double comm_create_s = 0.0;  // wall: creating group communicators (cache misses)

  static constexpr std::size_t kFields = 9;
  std::array<double, kFields> pack() const {
    return {plan_s, comm_wait_s, compute_s, busy_s, step_s, kv_bytes_sent, tokens, attn_flops, comm_create_s};
  }
  static RankStepMetrics unpack(const double* v) { return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]}; }
};

// The shape of a step's plan.
struct PlanSummary {
  std::int64_t micro_batches = 0, groups = 0, split_documents = 0, whole_documents = 0, new_rank_sets = 0;
  std::vector<std::int64_t> group_sizes;  // every group of every micro-batch, in plan order
};

// What the cost model predicts for the same plan (attention only, one layer).
struct ModelledStep {
  double step_s = 0.0;          // includes comm_create_s
  double comm_create_s = 0.0;   // creating the communicators the cache lacks (hardware communicator_create_ms)
  std::vector<double> busy_s, exposed_comm_s, bytes_sent;  // per rank
};

// Group-communicator cache use in a step (identical on every rank by construction).
struct CacheCounts {
  std::int64_t hits = 0, misses = 0, evictions = 0, live = 0;
};

struct StepRecord {
  std::int64_t step = 0;
  std::int64_t tokens = 0;
  std::int64_t documents = 0;
  std::int64_t longest_document = 0;
  std::vector<RankStepMetrics> ranks;
  PlanSummary plan;
  ModelledStep modelled;
  CacheCounts cache;

  double step_time() const;     // max over ranks of step_s: the step ends when the last rank does
  double total_flops() const;
  double total_bytes() const;
  double busy_imbalance() const;  // max / mean of busy_s
  double max_comm_wait() const;
  double max_busy() const;
};

inline constexpr const char* kCheckedTensors[] = {"O", "dQ", "dK", "dV"};

struct CheckResult {
  bool ran = false;
  bool passed = false;  // worst() <= tolerance
  std::int64_t step = 0;
  double tolerance = 0.0;
  double error_out = 0.0, error_dq = 0.0, error_dk = 0.0, error_dv = 0.0;  // whole-tensor relative errors
  // The largest per-document relative error of any tensor (attn/compare.hpp), and where.
  double worst_document_error = 0.0;
  std::int64_t worst_document = -1, worst_document_tokens = 0;
  std::string worst_tensor = "O";
  double worst() const;
};

struct StrategyResult {
  std::string name;
  std::string description;
  std::vector<StepRecord> steps;  // measured steps only (warm-up steps are not kept)
  CheckResult check;
};

}  // namespace flexcp
