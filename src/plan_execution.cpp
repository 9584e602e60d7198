#include "plan_execution.hpp"

#include <algorithm>
#include <memory>

#include "attn/all_gather_attention.hpp"
#ifdef FLEXCP_HAVE_CUDA
#include "attn/cuda/device_local_attention.hpp"
#endif
#include "attn/needed_kv_attention.hpp"
#include "attn/ring_attention.hpp"
#include "attn/synthetic_inputs.hpp"
#include "attn/ulysses_attention.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"

namespace flexcp {
namespace {
bool needs_communicator(std::size_t ranks, sched::CommScheme comm) {
  return ranks >= 2 && (comm == sched::CommScheme::all_gather || comm == sched::CommScheme::all_to_all);
}

std::unique_ptr<attn::GroupAttention> make_group_attention(const sched::Plan& plan, const sched::GroupProgram& program,
                                                           const attn::HeadLayout& layout, comm::Transport& transport,
                                                           comm::CommunicatorCache& cache, const ExecutionBackend& backend) {
  using sched::CommScheme;
  if (backend.cuda) {
#ifdef FLEXCP_HAVE_CUDA
    FLEXCP_CHECK(program.group_size() == 1, "the CUDA backend runs groups of one rank (no multi-rank device executors yet)");
    return std::make_unique<attn::cuda::DeviceLocalAttention>(
        program.local(), layout, backend.bf16 ? attn::cuda::Precision::bf16 : attn::cuda::Precision::fp32);
#else
    throw Error("this flexcp was built without CUDA");
#endif
  }
  // Alone, or with peers that need nothing from it: the needed-KV executor exchanges exactly that.
  if (program.group_size() == 1 || program.comm == CommScheme::needed_kv)
    return std::make_unique<attn::NeededKvAttention>(transport, program, layout);
  if (program.comm == CommScheme::ring || program.comm == CommScheme::all_gather)
    for (auto whole : program.member_whole_tokens)
      FLEXCP_CHECK(whole == 0, std::string(sched::to_string(program.comm)) + " groups split every document (plan from '" +
                                   plan.strategy + "')");
  switch (program.comm) {
    case CommScheme::ring:
      return std::make_unique<attn::RingAttention>(transport, program.members, program.shards, layout);
    case CommScheme::all_gather:
      return std::make_unique<attn::AllGatherAttention>(cache.get(program.members), program.shards, program.position,
                                                        layout);
    case CommScheme::all_to_all:
      return std::make_unique<attn::UlyssesAttention>(cache.get(program.members), program, layout);
    case CommScheme::needed_kv: break;
    case CommScheme::hierarchical:
      throw ConfigError("plan from '" + plan.strategy + "': no executor for a2a+p2p groups yet (flexcp plan models them)");
  }
  throw Error("unknown communication scheme");
}

void append_rows(std::vector<float>& dst, const float* src, std::int64_t floats) {
  dst.insert(dst.end(), src, src + floats);
}
}  // namespace

std::vector<std::vector<std::vector<int>>> communicator_rank_sets(const sched::Plan& plan) {
  std::vector<std::vector<std::vector<int>>> sets;
  for (const auto& mb : plan.micro_batches) {
    auto& now = sets.emplace_back();
    for (const auto& g : mb.groups)
      if (needs_communicator(g.ranks.size(), g.comm)) now.emplace_back(g.ranks.begin(), g.ranks.end());
  }
  return sets;
}

PlanExecution execute_plan(const sched::Plan& plan, const attn::HeadLayout& layout, comm::Transport& transport,
                           comm::CommunicatorCache& cache, std::uint64_t activation_seed,
                           const ExecutionBackend& backend) {
  PlanExecution run;
  const WallTimer compile_timer;
  run.program = sched::compile_rank_program(plan, transport.rank());
  const auto rank_sets = communicator_rank_sets(plan);
  run.compile_s = compile_timer.seconds();

  const auto offsets = plan.batch.doc_offsets();
  const auto before = transport.stats();
  for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
    const auto& program = run.program.micro_batches[mb];
    cache.prepare(rank_sets[mb]);
    comm::TransferStats collectives_before;
    const bool collective = needs_communicator(program.members.size(), program.comm);
    if (collective) collectives_before = cache.get(program.members).stats();
    auto executor = make_group_attention(plan, program, layout, transport, cache, backend);

    // Activations arrive from the previous layer; producing them is not part of the step.
    const WallTimer input_timer;
    const auto& shard = program.local();
    const auto tokens = shard.tokens();
    auto q = attn::make_tensor("flexcp::q", tokens, layout.q_heads, layout.head_dim);
    auto dout = attn::make_tensor("flexcp::dout", tokens, layout.q_heads, layout.head_dim);
    auto kv = attn::make_flat("flexcp::kv", attn::kv_floats(tokens, layout));
    const auto kv_local = attn::kv_refs(kv.data(), tokens, layout.kv_heads, layout.head_dim);
    using attn::SyntheticTensor;
    attn::fill_synthetic(attn::ref(q), shard, offsets, activation_seed, SyntheticTensor::query);
    attn::fill_synthetic(kv_local.k, shard, offsets, activation_seed, SyntheticTensor::key);
    attn::fill_synthetic(kv_local.v, shard, offsets, activation_seed, SyntheticTensor::value);
    attn::fill_synthetic(attn::ref(dout), shard, offsets, activation_seed, SyntheticTensor::output_grad);
    auto out = attn::make_tensor("flexcp::out", tokens, layout.q_heads, layout.head_dim);
    auto lse = attn::make_row_stats("flexcp::lse", tokens, layout.q_heads);
    auto dq = attn::make_tensor("flexcp::dq", tokens, layout.q_heads, layout.head_dim);
    auto dkv = attn::make_flat("flexcp::dkv", attn::kv_floats(tokens, layout));
    run.input_s += input_timer.seconds();

    executor->forward(q, kv, out, lse);
    executor->backward(q, kv, out, lse, dout, dq, dkv);
    run.compute_s += executor->times().compute_s;
    run.busy_s += executor->times().busy_s;
    run.mask_area += executor->local_mask_area();
    if (collective) {
      const auto& after = cache.get(program.members).stats();
      run.bytes_sent += after.bytes_sent - collectives_before.bytes_sent;
      run.comm_wait_s += after.wait_seconds - collectives_before.wait_seconds;
    }

    const std::int64_t base = run.step_shard.tokens();
    for (auto seg : shard.segments) {
      seg.local_begin += base;
      run.step_shard.segments.push_back(seg);
    }
    const std::int64_t q_floats = tokens * layout.q_heads * layout.head_dim;
    const std::int64_t kv_half = tokens * layout.kv_heads * layout.head_dim;
    append_rows(run.out, out.data(), q_floats);
    append_rows(run.dq, dq.data(), q_floats);
    append_rows(run.dk, dkv.data(), kv_half);
    append_rows(run.dv, dkv.data() + kv_half, kv_half);
  }
  const auto& after = transport.stats();
  run.bytes_sent += after.bytes_sent - before.bytes_sent;
  run.comm_wait_s += after.wait_seconds - before.wait_seconds;
  run.cache = cache.take_stats();
  return run;
}

}  // namespace flexcp
