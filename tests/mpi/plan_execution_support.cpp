#include "plan_execution_support.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include "../random_batch.hpp"
#include "app/run/run_setup.hpp"
#include "attn/host_backend.hpp"
#include "comm/topology.hpp"
#include "sched/cost_model.hpp"
#include "transports.hpp"

namespace flexcp::test_support {

sched::PlannerContext execution_context(std::int64_t capacity_tokens, const attn::HeadLayout& layout) {
  std::string warning;
  sched::CostContext cost;
  cost.cluster = cluster_of(comm::discover_topology(MPI_COMM_WORLD), warning);
  cost.model.name = "test";
  cost.model.layers = 1;
  cost.model.q_heads = layout.q_heads;
  cost.model.kv_heads = layout.kv_heads;
  cost.model.head_dim = layout.head_dim;
  cost.model.hidden = 64;
  cost.model.ffn_hidden = 128;
  cost.model.activation_bytes_per_token = 1.0;
  cost.hardware.name = "test";
  cost.hardware.attention_flops = 20e9;
  cost.hardware.matmul_flops = 60e9;
  cost.hardware.intra_bandwidth = 5e9;
  cost.hardware.inter_bandwidth = 1e9;
  cost.hardware.a2a_intra_bandwidth = 3e9;
  cost.hardware.a2a_inter_bandwidth = {{2, 1e9}};
  cost.hardware.element_bytes = 4.0;  // the executor's fp32
  cost.attention_only = true;
  return {cost, capacity_tokens};
}

Checked execute_and_check(const sched::Plan& plan, const attn::HeadLayout& layout, comm::Transport& transport,
                          comm::CommunicatorCache& cache, std::uint64_t seed) {
  Checked c;
  attn::HostKernels kernels;
  c.run = execute_plan(plan, layout, transport, cache, kernels, seed);
  c.check = check_against_reference(world(), plan.batch, layout, seed, c.run.step_shard, c.run.results, kTolerance, 0);
  c.counts = kernels.counts();
  double pairs[2] = {c.counts.forward_pairs, c.counts.backward_pairs};
  MPI_Allreduce(MPI_IN_PLACE, pairs, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  c.counts.forward_pairs = pairs[0];
  c.counts.backward_pairs = pairs[1];
  return c;
}

void expect_exact(const Checked& c, const sched::Plan& plan, const sched::PlannerContext& ctx,
                  const attn::HeadLayout& layout, const std::string& what) {
  EXPECT_TRUE(c.check.passed) << what << ": worst " << c.check.worst_tensor << " of document " << c.check.worst_document
                              << " (" << c.check.worst_document_tokens << " tokens): " << c.check.worst();
  const auto cost = sched::evaluate_plan(plan, ctx.cost);
  EXPECT_DOUBLE_EQ(c.run.bytes_sent, cost.ranks[static_cast<std::size_t>(world_rank())].bytes_sent)
      << "executor bytes vs cost model bytes, " << what;
  // Every visible (query, key) pair of every head, forward and backward, went through the Kernels
  // interface exactly once over the job: no executor computed anything behind its back.
  const double pairs = plan.batch.causal_mask_area() * layout.q_heads;
  EXPECT_DOUBLE_EQ(c.counts.forward_pairs, pairs) << "forward pairs through the kernels, " << what;
  EXPECT_DOUBLE_EQ(c.counts.backward_pairs, pairs) << "backward pairs through the kernels, " << what;
}

sched::Batch test_batch(std::mt19937_64& rng, int trial, int ranks) {
  auto batch = random_batch(rng, 4 + 2 * trial, 150);
  batch.doc_lengths.push_back(1);                        // a single token
  batch.doc_lengths.push_back(std::max(1, ranks - 1));  // shorter than the group
  batch.doc_lengths.push_back(40 * ranks);              // long enough to be split by everyone
  return batch;
}

}  // namespace flexcp::test_support
