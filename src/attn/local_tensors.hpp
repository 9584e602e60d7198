#pragma once
// One rank's tensors for one group's attention, in a Kernels' memory: the synthetic activations
// of its shard (made on the host, uploaded) and room for the results, plus the download of the
// results for checking. What flexcp run and the backend tests hand to an executor.
#include <cstdint>
#include <vector>

#include "attn/buffer.hpp"
#include "attn/head_layout.hpp"
#include "attn/kernels.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn {

struct LocalTensors {
  Buffer q, kv, dout;          // inputs: [tokens][H_q][d], one KV message, [tokens][H_q][d]
  Buffer out, lse, dq, dkv;    // results (dkv: one KV message)
};

// Room for the tensors of `tokens` tokens in `kernels`' memory; contents undefined.
LocalTensors allocate_local_tensors(Kernels& kernels, std::int64_t tokens, const HeadLayout& layout);
// The activations of `shard` for `seed` (attn/synthetic_inputs.hpp), in `kernels`' memory.
LocalTensors make_local_tensors(Kernels& kernels, const sched::RankShard& shard, const std::vector<std::int64_t>& doc_offsets,
                                const HeadLayout& layout, std::uint64_t seed);

// The results on the host, appended in buffer order (dk, dv: [tokens][H_kv][d]).
struct HostResults {
  std::vector<float> out, dq, dk, dv;
};
void append_results(Kernels& kernels, const LocalTensors& tensors, HostResults& into);

}  // namespace flexcp::attn
