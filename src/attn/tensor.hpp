#pragma once
// Host tensors for attention. Storage is a labelled Kokkos View in the packed "THD" layout that
// varlen attention uses: [token][head][head_dim], row-major, so one token's heads are contiguous
// and a rank's whole KV shard is one contiguous message. Kernels take the light *Ref structs so
// they work on any contiguous buffer (a View, a slice of a receive buffer).
#include <Kokkos_Core.hpp>

#include "attn/head_layout.hpp"

#include <cmath>
#include <cstdint>
#include <string>

namespace flexcp::attn {

using HostSpace = Kokkos::HostSpace;
using Tensor3 = Kokkos::View<float***, Kokkos::LayoutRight, HostSpace>;  // [token][head][dim]
using Tensor2 = Kokkos::View<float**, Kokkos::LayoutRight, HostSpace>;   // [token][head]
using Flat = Kokkos::View<float*, HostSpace>;  // message buffers


struct TensorRef {
  float* data = nullptr;
  std::int64_t tokens = 0;
  int heads = 0;
  int dim = 0;
  float* row(std::int64_t token, int head) const {
    return data + (token * heads + head) * static_cast<std::int64_t>(dim);
  }
};

struct RowStatsRef {  // per (token, head) scalars: log-sum-exp, or D = rowsum(dO * O)
  float* data = nullptr;
  std::int64_t tokens = 0;
  int heads = 0;
  float& at(std::int64_t token, int head) const { return data[token * heads + head]; }
};

inline TensorRef ref(const Tensor3& t) {
  return {t.data(), static_cast<std::int64_t>(t.extent(0)), static_cast<int>(t.extent(1)),
          static_cast<int>(t.extent(2))};
}
inline RowStatsRef ref(const Tensor2& t) {
  return {t.data(), static_cast<std::int64_t>(t.extent(0)), static_cast<int>(t.extent(1))};
}
// A KV message: K of `tokens` tokens followed by V of the same tokens, each [token][head][dim].
// One contiguous block, so a rank's whole shard (or its dK/dV) travels as one message.
struct KvRefs {
  TensorRef k, v;
};
inline KvRefs kv_refs(float* base, std::int64_t tokens, int heads, int dim) {
  const std::int64_t half = tokens * heads * dim;
  return {{base, tokens, heads, dim}, {base + half, tokens, heads, dim}};
}

inline Tensor3 make_tensor(const std::string& label, std::int64_t tokens, int heads, int dim) {
  return Tensor3(label, static_cast<std::size_t>(tokens), static_cast<std::size_t>(heads),
                 static_cast<std::size_t>(dim));
}
inline Tensor2 make_row_stats(const std::string& label, std::int64_t tokens, int heads) {
  return Tensor2(label, static_cast<std::size_t>(tokens), static_cast<std::size_t>(heads));
}
inline Flat make_flat(const std::string& label, std::int64_t count) {
  return Flat(label, static_cast<std::size_t>(count));
}

}  // namespace flexcp::attn
