#include "correctness_check.hpp"

#include "attn/reference.hpp"
#include "attn/synthetic_inputs.hpp"
#include "comm/collectives.hpp"
#include "comm/mpi_check.hpp"

namespace flexcp {

CheckResult check_against_reference(MPI_Comm world, const sched::Batch& batch, const attn::HeadLayout& layout,
                                    std::uint64_t activation_seed, const LocalResult& local, double tolerance,
                                    std::int64_t step_index) {
  const auto offsets = batch.doc_offsets();
  std::vector<std::int64_t> rows;
  for (const auto& seg : local.shard->segments)
    for (std::int64_t i = 0; i < seg.length; ++i) rows.push_back(offsets[static_cast<std::size_t>(seg.doc)] + seg.pos_begin + i);
  const std::int64_t total = batch.total_tokens();
  const std::int64_t q_width = std::int64_t{layout.q_heads} * layout.head_dim;
  const std::int64_t kv_width = std::int64_t{layout.kv_heads} * layout.head_dim;
  auto out = comm::gather_rows_to_root(world, local.out, rows, q_width, total);
  auto dq = comm::gather_rows_to_root(world, local.dq, rows, q_width, total);
  auto dk = comm::gather_rows_to_root(world, local.dk, rows, kv_width, total);
  auto dv = comm::gather_rows_to_root(world, local.dv, rows, kv_width, total);

  CheckResult result;
  result.ran = true;
  result.step = step_index;
  result.tolerance = tolerance;
  int rank = 0;
  FLEXCP_MPI_CHECK(MPI_Comm_rank(world, &rank));
  std::vector<double> errors(4, 0.0);
  if (rank == 0) {
    using attn::SyntheticTensor;
    attn::GlobalTensors inputs{
        attn::synthetic_global(total, layout.q_heads, layout.head_dim, activation_seed, SyntheticTensor::query),
        attn::synthetic_global(total, layout.kv_heads, layout.head_dim, activation_seed, SyntheticTensor::key),
        attn::synthetic_global(total, layout.kv_heads, layout.head_dim, activation_seed, SyntheticTensor::value),
        attn::synthetic_global(total, layout.q_heads, layout.head_dim, activation_seed, SyntheticTensor::output_grad)};
    const auto ref = attn::reference_attention(batch, layout, inputs);
    errors = {attn::relative_error(out, ref.out), attn::relative_error(dq, ref.dq), attn::relative_error(dk, ref.dk),
              attn::relative_error(dv, ref.dv)};
  }
  FLEXCP_MPI_CHECK(MPI_Bcast(errors.data(), 4, MPI_DOUBLE, 0, world));
  result.error_out = errors[0];
  result.error_dq = errors[1];
  result.error_dk = errors[2];
  result.error_dv = errors[3];
  result.passed = result.worst() <= tolerance;  // inf (NaN in the result) never passes
  return result;
}

}  // namespace flexcp
