#pragma once
// Executing a plan on the MPI backend and checking it: results against the float64
// single-process reference, the executor's bytes against the cost model's, exactly, and every
// visible pair through the Kernels once. Shared by the plan-execution and hybrid tests.
#include <cstdint>
#include <random>
#include <string>

#include "app/run/correctness_check.hpp"
#include "app/run/plan_execution.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/transport.hpp"
#include "sched/batch.hpp"
#include "sched/planner.hpp"

namespace flexcp::test_support {

inline constexpr double kTolerance = 1e-4;

// The world's topology (emulated nodes included), a one-layer model of these heads, small
// hardware numbers and the executor's fp32, attention only: what `flexcp run` executes.
sched::PlannerContext execution_context(std::int64_t capacity_tokens, const attn::HeadLayout& layout);

struct Checked {
  CheckResult check;
  PlanExecution run;
  attn::KernelCounts counts;  // summed over every rank
};

Checked execute_and_check(const sched::Plan& plan, const attn::HeadLayout& layout, comm::Transport& transport,
                          comm::CommunicatorCache& cache, std::uint64_t seed);

void expect_exact(const Checked& c, const sched::Plan& plan, const sched::PlannerContext& ctx,
                  const attn::HeadLayout& layout, const std::string& what);

// Random short documents plus a single token, one shorter than the group and one long enough
// to be split by everyone.
sched::Batch test_batch(std::mt19937_64& rng, int trial, int ranks);

}  // namespace flexcp::test_support
