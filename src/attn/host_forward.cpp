#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attn/host_kernels.hpp"
#include "attn/tile_tasks.hpp"

namespace flexcp::attn {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One (query tile, head) task: online softmax over every key tile of every slice of the group.
struct ForwardTile {
  const HeadLayout& layout;
  const SliceSet& slices;
  const TensorRef& q;
  const TensorRef& k;
  const TensorRef& v;
  const KernelTiling& tiling;

  void run(const SliceGroup& group, const TileTask& task, int head, const TensorRef& out,
           const RowStatsRef& lse) const {
    const int dim = layout.head_dim, bk = tiling.key_rows;
    const int kv_head = head / layout.queries_per_kv();
    const auto rows = task.rows;
    std::vector<float> qt(rows * dim), acc(rows * dim, 0.0f), kt(static_cast<std::size_t>(dim) * bk),
        vt(static_cast<std::size_t>(bk) * dim), s(bk);
    std::vector<float> m(rows, kNegInf), l(rows, 0.0f);
    const float scale = layout.scale();
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* src = q.row(group.begin + task.offset + i, head);
      for (int d = 0; d < dim; ++d) qt[i * dim + d] = src[d] * scale;
    }
    for (auto index : group.slices) {
      const auto& sl = slices.slices[static_cast<std::size_t>(index)];
      const std::int64_t key_limit = sl.visible_keys(task.offset + rows - 1);
      for (std::int64_t j0 = 0; j0 < key_limit; j0 += bk) {
        const int nb = static_cast<int>(std::min<std::int64_t>(bk, key_limit - j0));
        for (int j = 0; j < nb; ++j) {
          const float* ks = k.row(sl.k_begin + j0 + j, kv_head);
          const float* vs = v.row(sl.k_begin + j0 + j, kv_head);
          for (int d = 0; d < dim; ++d) kt[d * bk + j] = ks[d];
          std::copy(vs, vs + dim, vt.data() + j * dim);
        }
        for (std::int64_t i = 0; i < rows; ++i) {
          const int visible = static_cast<int>(std::min<std::int64_t>(nb, sl.visible_keys(task.offset + i) - j0));
          if (visible <= 0) continue;
          std::fill(s.begin(), s.begin() + visible, 0.0f);
          for (int d = 0; d < dim; ++d) {
            const float qd = qt[i * dim + d];
            const float* kd = kt.data() + d * bk;
            for (int j = 0; j < visible; ++j) s[j] += qd * kd[j];
          }
          const float tile_max = *std::max_element(s.begin(), s.begin() + visible);
          const float m_new = std::max(m[i], tile_max);
          const float correction = std::exp(m[i] - m_new);  // exp(-inf) = 0 on the first tile
          float* acc_row = acc.data() + i * dim;
          for (int d = 0; d < dim; ++d) acc_row[d] *= correction;
          float row_sum = 0.0f;
          for (int j = 0; j < visible; ++j) {
            const float p = std::exp(s[j] - m_new);
            row_sum += p;
            const float* vr = vt.data() + j * dim;
            for (int d = 0; d < dim; ++d) acc_row[d] += p * vr[d];
          }
          l[i] = l[i] * correction + row_sum;
          m[i] = m_new;
        }
      }
    }
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto row = group.begin + task.offset + i;
      float* dst = out.row(row, head);
      if (l[i] > 0.0f) {
        const float inv = 1.0f / l[i];
        for (int d = 0; d < dim; ++d) dst[d] = acc[i * dim + d] * inv;
        lse.at(row, head) = m[i] + std::log(l[i]);
      }
    }
  }
};
}  // namespace

void forward_partial(const HeadLayout& layout, const SliceSet& slices, const TensorRef& q,
                     const TensorRef& k, const TensorRef& v, const TensorRef& out_partial,
                     const RowStatsRef& lse_partial, const KernelTiling& tiling) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
  const auto elements = out_partial.tokens * out_partial.heads * out_partial.dim;
  Kokkos::parallel_for("flexcp::attn::forward_clear", Policy(0, elements),
                       [=](std::int64_t e) { out_partial.data[e] = 0.0f; });
  Kokkos::parallel_for("flexcp::attn::forward_clear_lse", Policy(0, lse_partial.tokens * lse_partial.heads),
                       [=](std::int64_t e) { lse_partial.data[e] = kNegInf; });
  const auto tasks = tile_groups(slices.by_query, tiling.query_rows);
  const ForwardTile tile{layout, slices, q, k, v, tiling};
  const auto heads = static_cast<std::int64_t>(layout.q_heads);
  Kokkos::parallel_for("flexcp::attn::forward_tiles", Policy(0, static_cast<std::int64_t>(tasks.size()) * heads),
                       [&](std::int64_t item) {
                         const auto& task = tasks[static_cast<std::size_t>(item / heads)];
                         tile.run(slices.by_query[static_cast<std::size_t>(task.group)], task,
                                  static_cast<int>(item % heads), out_partial, lse_partial);
                       });
}

void merge_partial(const TensorRef& out, const RowStatsRef& lse, const TensorRef& part,
                   const RowStatsRef& part_lse) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
  const int dim = out.dim, heads = out.heads;
  Kokkos::parallel_for("flexcp::attn::lse_merge", Policy(0, out.tokens * heads), [=](std::int64_t e) {
    const std::int64_t token = e / heads;
    const int head = static_cast<int>(e % heads);
    const float b = part_lse.at(token, head);
    if (b == kNegInf) return;  // the block contributed nothing to this row
    const float a = lse.at(token, head);
    const float m = std::max(a, b);
    const float merged = m + std::log(std::exp(a - m) + std::exp(b - m));
    const float wa = std::exp(a - merged), wb = std::exp(b - merged);
    float* o = out.row(token, head);
    const float* p = part.row(token, head);
    for (int d = 0; d < dim; ++d) o[d] = wa * o[d] + wb * p[d];
    lse.at(token, head) = merged;
  });
}

void softmax_backward_rowsum(const TensorRef& out, const TensorRef& dout, const RowStatsRef& rowsum) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
  const int dim = out.dim, heads = out.heads;
  Kokkos::parallel_for("flexcp::attn::dO_dot_O", Policy(0, out.tokens * heads), [=](std::int64_t e) {
    const std::int64_t token = e / heads;
    const int head = static_cast<int>(e % heads);
    const float* o = out.row(token, head);
    const float* g = dout.row(token, head);
    float sum = 0.0f;
    for (int d = 0; d < dim; ++d) sum += o[d] * g[d];
    rowsum.at(token, head) = sum;
  });
}

}  // namespace flexcp::attn
