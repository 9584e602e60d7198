#include "ring_step.hpp"

#include <numeric>

#include "attn/flops.hpp"
#include "attn/ring_attention.hpp"
#include "attn/synthetic_inputs.hpp"
#include "comm/mpi_check.hpp"
#include "common/clock.hpp"
#include "correctness_check.hpp"
#include "sched/shard.hpp"

namespace flexcp {

StepOutcome run_ring_step(const Config& config, comm::Transport& transport, MPI_Comm world, const sched::Batch& batch,
                          std::uint64_t activation_seed, bool check, std::int64_t step_index) {
  const auto& layout = config.model.heads;
  const int ranks = transport.size();
  FLEXCP_MPI_CHECK(MPI_Barrier(world));  // every rank starts the step together
  const WallTimer step_timer;

  // Plan: zigzag shards over one CP group of all ranks, and this rank's slices per ring step.
  const WallTimer plan_timer;
  std::vector<int> members(static_cast<std::size_t>(ranks));
  std::iota(members.begin(), members.end(), 0);
  attn::RingAttention ring(transport, members, sched::zigzag_shards(batch, ranks), layout);
  const double plan_s = plan_timer.seconds();

  // Activations arrive from the previous layer; producing them is not part of the step.
  const WallTimer input_timer;
  const auto tokens = ring.local_tokens();
  const auto offsets = batch.doc_offsets();
  auto q = attn::make_tensor("flexcp::q", tokens, layout.q_heads, layout.head_dim);
  auto dout = attn::make_tensor("flexcp::dout", tokens, layout.q_heads, layout.head_dim);
  auto kv = attn::make_flat("flexcp::kv", attn::kv_floats(tokens, layout));
  const auto kv_local = attn::kv_refs(kv.data(), tokens, layout.kv_heads, layout.head_dim);
  using attn::SyntheticTensor;
  attn::fill_synthetic(attn::ref(q), ring.local_shard(), offsets, activation_seed, SyntheticTensor::query);
  attn::fill_synthetic(kv_local.k, ring.local_shard(), offsets, activation_seed, SyntheticTensor::key);
  attn::fill_synthetic(kv_local.v, ring.local_shard(), offsets, activation_seed, SyntheticTensor::value);
  attn::fill_synthetic(attn::ref(dout), ring.local_shard(), offsets, activation_seed, SyntheticTensor::output_grad);
  auto out = attn::make_tensor("flexcp::out", tokens, layout.q_heads, layout.head_dim);
  auto lse = attn::make_row_stats("flexcp::lse", tokens, layout.q_heads);
  auto dq = attn::make_tensor("flexcp::dq", tokens, layout.q_heads, layout.head_dim);
  auto dkv = attn::make_flat("flexcp::dkv", attn::kv_floats(tokens, layout));
  const double input_s = input_timer.seconds();

  const auto before = transport.stats();
  ring.forward(q, kv, out, lse);
  ring.backward(q, kv, out, lse, dout, dq, dkv);
  const auto after = transport.stats();

  StepOutcome outcome;
  auto& m = outcome.metrics;
  m.plan_s = plan_s;
  m.comm_wait_s = after.wait_seconds - before.wait_seconds;
  m.compute_s = ring.times().compute_s;
  m.busy_s = ring.times().busy_s;
  m.step_s = step_timer.seconds() - input_s;
  m.kv_bytes_sent = after.bytes_sent - before.bytes_sent;
  m.tokens = static_cast<double>(tokens);
  const double area = ring.local_mask_area();
  m.attn_flops = attn::forward_flops(area, layout) + attn::backward_flops(area, layout);

  if (check) {
    const auto grads = attn::kv_refs(dkv.data(), tokens, layout.kv_heads, layout.head_dim);
    outcome.check = check_against_reference(world, batch, layout, activation_seed,
                                            {&ring.local_shard(), out.data(), dq.data(), grads.k.data, grads.v.data},
                                            config.run.check_tolerance, step_index);
  }
  return outcome;
}

}  // namespace flexcp
