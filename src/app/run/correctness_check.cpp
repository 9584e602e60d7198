#include "app/run/correctness_check.hpp"

#include <algorithm>
#include <string>

#include "attn/compare.hpp"
#include "attn/synthetic_inputs.hpp"

namespace flexcp {

CheckResult check_against_reference(comm::World& world, const sched::Batch& batch, const attn::HeadLayout& layout,
                                    std::uint64_t activation_seed, const sched::RankShard& shard,
                                    const attn::HostResults& results, double tolerance, std::int64_t step_index) {
  const auto offsets = batch.doc_offsets();
  std::vector<std::int64_t> rows;
  for (const auto& seg : shard.segments)
    for (std::int64_t i = 0; i < seg.length; ++i) rows.push_back(offsets[static_cast<std::size_t>(seg.doc)] + seg.pos_begin + i);
  const std::int64_t total = batch.total_tokens();
  const std::int64_t q_width = std::int64_t{layout.q_heads} * layout.head_dim;
  const std::int64_t kv_width = std::int64_t{layout.kv_heads} * layout.head_dim;
  attn::GlobalResults got{world.gather_rows_to_root(results.out.data(), rows, q_width, total),
                          world.gather_rows_to_root(results.dq.data(), rows, q_width, total),
                          world.gather_rows_to_root(results.dk.data(), rows, kv_width, total),
                          world.gather_rows_to_root(results.dv.data(), rows, kv_width, total)};

  CheckResult result;
  result.ran = true;
  result.step = step_index;
  result.tolerance = tolerance;
  // whole O, dQ, dK, dV; worst per-document error; its document; its tensor (index)
  std::vector<double> verdict(7, 0.0);
  if (world.rank() == 0) {
    const auto ref = attn::reference_attention(batch, layout, attn::synthetic_global_inputs(total, layout, activation_seed));
    const auto c = attn::compare_with_reference(batch, layout, got, ref);
    const std::string tensor = c.worst_tensor();
    verdict = {c.out.whole, c.dq.whole, c.dk.whole, c.dv.whole, c.worst(), static_cast<double>(c.worst_document()),
               static_cast<double>(tensor == "O" ? 0 : tensor == "dQ" ? 1 : tensor == "dK" ? 2 : 3)};
  }
  world.broadcast(verdict);
  result.error_out = verdict[0];
  result.error_dq = verdict[1];
  result.error_dk = verdict[2];
  result.error_dv = verdict[3];
  result.worst_document_error = verdict[4];
  result.worst_document = static_cast<std::int64_t>(verdict[5]);
  result.worst_tensor = kCheckedTensors[static_cast<std::size_t>(verdict[6])];
  const auto doc = static_cast<std::size_t>(std::max<std::int64_t>(0, result.worst_document));
  result.worst_document_tokens = doc < batch.doc_lengths.size() ? batch.doc_lengths[doc] : 0;
  result.passed = result.worst() <= tolerance;  // inf (NaN in the result) never passes
  return result;
}

}  // namespace flexcp
