#include "app/run/plan_execution.hpp"

#include "attn/executor_choice.hpp"
#include "attn/local_tensors.hpp"
#include "common/clock.hpp"

namespace flexcp {

PlanExecution execute_plan(const sched::Plan& plan, const attn::HeadLayout& layout, comm::Transport& transport,
                           comm::CommunicatorCache& cache, attn::Kernels& kernels, std::uint64_t activation_seed,
                           const InputPatch& patch_inputs) {
  PlanExecution run;
  const WallTimer compile_timer;
  run.program = sched::compile_rank_program(plan, transport.rank());
  const auto rank_sets = attn::collective_rank_sets(plan);
  run.compile_s = compile_timer.seconds();

  const auto offsets = plan.batch.doc_offsets();
  const auto before = transport.stats();
  kernels.take_times();  // start from zero
  for (std::size_t mb = 0; mb < plan.micro_batches.size(); ++mb) {
    const auto& program = run.program.micro_batches[mb];
    cache.prepare(rank_sets[mb]);
    comm::GroupCollectives* collectives = nullptr;
    comm::TransferStats collectives_before;
    if (attn::needs_group_collectives(program.members.size(), program.comm)) {
      collectives = &cache.get(attn::collective_members(program));
      collectives_before = collectives->stats();
    }
    auto executor = attn::make_group_attention(program, layout, transport, collectives, kernels, plan.strategy);

    // Activations arrive from the previous layer; producing them is not part of the step.
    const WallTimer input_timer;
    const auto& shard = program.local();
    auto t = attn::make_local_tensors(kernels, shard, offsets, layout, activation_seed);
    if (patch_inputs) patch_inputs(shard, t);
    run.io_s += input_timer.seconds();

    executor->forward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view());
    executor->backward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view(), t.dout.view(), t.dq.view(), t.dkv.view());
    kernels.synchronize();  // the step ends when this rank's kernels have
    run.mask_area += executor->local_mask_area();
    if (collectives != nullptr) {
      const auto& after = collectives->stats();
      run.bytes_sent += after.bytes_sent - collectives_before.bytes_sent;
      run.comm_wait_s += after.wait_seconds - collectives_before.wait_seconds;
    }

    // Results leave for the correctness check; not part of the step either.
    const WallTimer output_timer;
    const std::int64_t base = run.step_shard.tokens();
    for (auto seg : shard.segments) {
      seg.local_begin += base;
      run.step_shard.segments.push_back(seg);
    }
    attn::append_results(kernels, t, run.results);
    run.io_s += output_timer.seconds();
  }
  const auto times = kernels.take_times();
  run.compute_s = times.compute_s;
  run.busy_s = times.busy_s;
  const auto& after = transport.stats();
  run.bytes_sent += after.bytes_sent - before.bytes_sent;
  run.comm_wait_s += after.wait_seconds - before.wait_seconds;
  run.cache = cache.take_stats();
  return run;
}

}  // namespace flexcp
