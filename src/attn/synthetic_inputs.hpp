#pragma once
// Deterministic synthetic activations. Each value is a hash of (seed, tensor, global token,
// head, dim), so any rank can produce its own tokens without communication and the tensors of a
// batch are identical whatever the rank count or sharding: the property the correctness check
// and the tests rely on. Values are uniform in [-1, 1).
#include <cstdint>
#include <vector>

#include "attn/reference.hpp"
#include "attn/tensor.hpp"
#include "sched/shard.hpp"

namespace flexcp::attn {

enum class SyntheticTensor : std::uint64_t { query = 1, key = 2, value = 3, output_grad = 4 };

float synthetic_value(std::uint64_t seed, SyntheticTensor which, std::int64_t global_token, int head, int dim);

// Fills `dst` (a rank's local buffer) with the values of the global tokens of `shard`.
void fill_synthetic(const TensorRef& dst, const sched::RankShard& shard, const std::vector<std::int64_t>& doc_offsets,
                    std::uint64_t seed, SyntheticTensor which);

// The same values for a whole batch of `tokens` tokens, for the reference.
std::vector<float> synthetic_global(std::int64_t tokens, int heads, int dim, std::uint64_t seed, SyntheticTensor which);
// Q, K, V and dO of a whole batch of `tokens` tokens.
GlobalTensors synthetic_global_inputs(std::int64_t tokens, const HeadLayout& layout, std::uint64_t seed);

}  // namespace flexcp::attn
