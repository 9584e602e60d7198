#include <algorithm>
#include <cmath>
#include <vector>

#include "attn/host_kernels.hpp"
#include "attn/tile_tasks.hpp"

namespace flexcp::attn {
namespace {

// Scores, probabilities and their gradient for one query row against a tile of keys held
// transposed ([dim][tile]) so the inner loops run over contiguous keys.
struct RowGradient {
  int dim, stride;
  float scale;
  // p[j] = exp(scale q.k_j - lse); ds[j] = p[j] (dO.v_j - rowsum)
  void compute(const float* q_row, const float* dout_row, float lse, float rowsum, const float* kt,
               const float* vt, int visible, float* p, float* ds) const {
    std::fill(p, p + visible, 0.0f);
    std::fill(ds, ds + visible, 0.0f);
    for (int d = 0; d < dim; ++d) {
      const float qd = q_row[d], gd = dout_row[d];
      const float* kd = kt + d * stride;
      const float* vd = vt + d * stride;
      for (int j = 0; j < visible; ++j) {
        p[j] += qd * kd[j];
        ds[j] += gd * vd[j];
      }
    }
    for (int j = 0; j < visible; ++j) {
      p[j] = std::exp(p[j] * scale - lse);
      ds[j] = p[j] * (ds[j] - rowsum);
    }
  }
};

void load_transposed(const TensorRef& src, std::int64_t first, int count, int head, int stride, float* dst) {
  for (int j = 0; j < count; ++j) {
    const float* row = src.row(first + j, head);
    for (int d = 0; d < src.dim; ++d) dst[d * stride + j] = row[d];
  }
}

struct BackwardInputs {
  const HeadLayout& layout;
  const SliceSet& slices;
  const TensorRef& q;
  const TensorRef& k;
  const TensorRef& v;
  const TensorRef& dout;
  const RowStatsRef& lse;
  const RowStatsRef& rowsum;
  const KernelTiling& tiling;
};

// dK, dV of one (key tile, KV head): sums over every query row and query head that sees a key.
void key_tile_gradients(const BackwardInputs& in, const SliceGroup& group, const TileTask& task,
                        int kv_head, const TensorRef& dk, const TensorRef& dv) {
  const int dim = in.layout.head_dim, width = static_cast<int>(task.rows);
  const RowGradient grad{dim, width, in.layout.scale()};
  std::vector<float> kt(static_cast<std::size_t>(dim) * width), vt(kt.size()), dk_acc(kt.size(), 0.0f),
      dv_acc(kt.size(), 0.0f), p(width), ds(width);
  load_transposed(in.k, group.begin + task.offset, width, kv_head, width, kt.data());
  load_transposed(in.v, group.begin + task.offset, width, kv_head, width, vt.data());
  const int per_kv = in.layout.queries_per_kv();
  for (auto index : group.slices) {
    const auto& sl = in.slices.slices[static_cast<std::size_t>(index)];
    const int keys_here = static_cast<int>(std::min<std::int64_t>(width, sl.k_len - task.offset));
    if (keys_here <= 0) continue;
    // The first query row that sees key `task.offset` of this slice.
    const std::int64_t first_row = sl.first_query_seeing(task.offset);
    for (int h = kv_head * per_kv; h < (kv_head + 1) * per_kv; ++h) {
      for (std::int64_t i = first_row; i < sl.q_len; ++i) {
        const int visible = static_cast<int>(std::min<std::int64_t>(keys_here, sl.visible_keys(i) - task.offset));
        if (visible <= 0) continue;
        const auto row = sl.q_begin + i;
        const float* q_row = in.q.row(row, h);
        const float* g_row = in.dout.row(row, h);
        grad.compute(q_row, g_row, in.lse.at(row, h), in.rowsum.at(row, h), kt.data(), vt.data(), visible,
                     p.data(), ds.data());
        for (int d = 0; d < dim; ++d) {
          const float gd = g_row[d], qd = q_row[d] * grad.scale;
          float* dv_d = dv_acc.data() + d * width;
          float* dk_d = dk_acc.data() + d * width;
          for (int j = 0; j < visible; ++j) {
            dv_d[j] += p[j] * gd;
            dk_d[j] += ds[j] * qd;
          }
        }
      }
    }
  }
  for (int j = 0; j < width; ++j) {
    float* dk_row = dk.row(group.begin + task.offset + j, kv_head);
    float* dv_row = dv.row(group.begin + task.offset + j, kv_head);
    for (int d = 0; d < dim; ++d) {
      dk_row[d] += dk_acc[d * width + j];
      dv_row[d] += dv_acc[d * width + j];
    }
  }
}

// dQ of one (query tile, query head): sums over every visible key of every slice of the group.
void query_tile_gradient(const BackwardInputs& in, const SliceGroup& group, const TileTask& task, int head,
                         const TensorRef& dq) {
  const int dim = in.layout.head_dim, bk = in.tiling.key_rows;
  const int kv_head = head / in.layout.queries_per_kv();
  const RowGradient grad{dim, bk, in.layout.scale()};
  std::vector<float> kt(static_cast<std::size_t>(dim) * bk), vt(kt.size()), kr(kt.size()),
      dq_acc(static_cast<std::size_t>(task.rows) * dim, 0.0f), p(bk), ds(bk);
  for (auto index : group.slices) {
    const auto& sl = in.slices.slices[static_cast<std::size_t>(index)];
    const std::int64_t key_limit = sl.visible_keys(task.offset + task.rows - 1);
    for (std::int64_t j0 = 0; j0 < key_limit; j0 += bk) {
      const int nb = static_cast<int>(std::min<std::int64_t>(bk, key_limit - j0));
      load_transposed(in.k, sl.k_begin + j0, nb, kv_head, bk, kt.data());
      load_transposed(in.v, sl.k_begin + j0, nb, kv_head, bk, vt.data());
      for (int j = 0; j < nb; ++j) {
        const float* src = in.k.row(sl.k_begin + j0 + j, kv_head);
        std::copy(src, src + dim, kr.data() + j * dim);
      }
      for (std::int64_t i = 0; i < task.rows; ++i) {
        const int visible = static_cast<int>(std::min<std::int64_t>(nb, sl.visible_keys(task.offset + i) - j0));
        if (visible <= 0) continue;
        const auto row = group.begin + task.offset + i;
        grad.compute(in.q.row(row, head), in.dout.row(row, head), in.lse.at(row, head), in.rowsum.at(row, head),
                     kt.data(), vt.data(), visible, p.data(), ds.data());
        float* acc = dq_acc.data() + i * dim;
        for (int j = 0; j < visible; ++j) {
          const float w = ds[j] * grad.scale;
          const float* kj = kr.data() + j * dim;
          for (int d = 0; d < dim; ++d) acc[d] += w * kj[d];
        }
      }
    }
  }
  for (std::int64_t i = 0; i < task.rows; ++i) {
    float* dst = dq.row(group.begin + task.offset + i, head);
    for (int d = 0; d < dim; ++d) dst[d] += dq_acc[i * dim + d];
  }
}
}  // namespace

void backward_accumulate(const HeadLayout& layout, const SliceSet& slices, const TensorRef& q,
                         const TensorRef& k, const TensorRef& v, const TensorRef& dout,
                         const RowStatsRef& lse, const RowStatsRef& rowsum, const TensorRef& dq,
                         const TensorRef& dk, const TensorRef& dv, const KernelTiling& tiling) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>;
  const BackwardInputs in{layout, slices, q, k, v, dout, lse, rowsum, tiling};

  const auto key_tasks = tile_groups(slices.by_key, tiling.key_rows);
  const auto kv_heads = static_cast<std::int64_t>(layout.kv_heads);
  Kokkos::parallel_for("flexcp::attn::backward_dkv_tiles",
                       Policy(0, static_cast<std::int64_t>(key_tasks.size()) * kv_heads), [&](std::int64_t item) {
                         const auto& task = key_tasks[static_cast<std::size_t>(item / kv_heads)];
                         key_tile_gradients(in, slices.by_key[static_cast<std::size_t>(task.group)], task,
                                            static_cast<int>(item % kv_heads), dk, dv);
                       });

  const auto query_tasks = tile_groups(slices.by_query, tiling.query_rows);
  const auto q_heads = static_cast<std::int64_t>(layout.q_heads);
  Kokkos::parallel_for("flexcp::attn::backward_dq_tiles",
                       Policy(0, static_cast<std::int64_t>(query_tasks.size()) * q_heads), [&](std::int64_t item) {
                         const auto& task = query_tasks[static_cast<std::size_t>(item / q_heads)];
                         query_tile_gradient(in, slices.by_query[static_cast<std::size_t>(task.group)], task,
                                             static_cast<int>(item % q_heads), dq);
                       });
}

}  // namespace flexcp::attn
