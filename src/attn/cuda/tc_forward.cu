// Tensor-core forward over attention slices (FlashAttention-2 style, bf16 mma.sync with fp32
// accumulators). One block per (query tile of `BM` rows, query head); each warp owns 16 rows.
// The block walks the key blocks of every slice of its query segment, 64 keys at a time, up to
// the last key its last row sees; K and V tiles are double-buffered with cp.async so the next
// block loads while this one computes. Online softmax in base 2 (scores pre-scaled by
// log2(e) / sqrt(d)); P stays in registers between S = Q K^T and O += P V. Writes the partial
// output and its log-sum-exp (natural log) for every row of the tile, O = 0 and lse = -inf for
// rows that see no key, exactly what the SIMT kernel and the host kernels write.
#include <cuda_bf16.h>

#include <cmath>

#include "attn/cuda/kernel_launchers.hpp"
#include "attn/cuda/tc_primitives.cuh"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {
using namespace tc;

constexpr int kKeyBlock = 64;

struct ForwardArgs {
  const AttentionSlice* slices;
  const std::int32_t* members;
  const DeviceTask* tasks;
  const __nv_bfloat16 *q, *k, *v;
  float *out, *lse;
  int q_heads, kv_heads;
  float scale_log2;  // log2(e) / sqrt(d)
};

// The key blocks a query tile visits, in order: every member slice, blocks of kKeyBlock keys
// from its first key up to the last key the tile's last row sees.
struct KeyBlockCursor {
  const AttentionSlice* slices;
  const std::int32_t* members;
  std::int32_t member, member_end;
  std::int64_t last_row;       // the tile's last valid row, segment coordinates
  std::int64_t block = 0;      // first key of the current block
  std::int64_t key_end = 0;    // keys [0, key_end) of the current slice are visited

  __device__ bool valid() const { return member < member_end; }
  __device__ const AttentionSlice& slice() const { return slices[members[member]]; }
  __device__ void settle() {  // from `member` on, the first slice with a visible key
    for (; member < member_end; ++member) {
      key_end = slice().visible_keys(last_row);
      if (key_end > 0) {
        block = 0;
        return;
      }
    }
  }
  __device__ void advance() {
    block += kKeyBlock;
    if (block >= key_end) {
      ++member;
      settle();
    }
  }
};

// BM query rows per block; each warp owns MT tiles of 16 rows. With MT = 2 every K and V
// fragment read from shared memory feeds two tensor-core products instead of one (shared-memory
// traffic per FLOP drops by 40%), at the price of re-reading Q's fragments per key block, since
// registers no longer hold them beside the doubled accumulators.
template <int D, int BM, int MT>
struct ForwardShape {
  static constexpr int kRowsPerWarp = 16 * MT;
  static constexpr int kWarps = BM / kRowsPerWarp, kThreads = kWarps * 32;
  static constexpr bool kQueriesInRegisters = MT == 1;
  static constexpr int kTileBytes = kKeyBlock * D * 2;
  static constexpr int kQueryBytes = BM * D * 2;
  static constexpr int kSharedBytes = kQueryBytes + 4 * kTileBytes;  // Q, 2 stages of K and of V
  static_assert(BM % kRowsPerWarp == 0, "whole warps");
};

template <int D, int BM, int MT>
__global__ void __launch_bounds__(ForwardShape<D, BM, MT>::kThreads) forward_kernel(ForwardArgs a) {
  using Shape = ForwardShape<D, BM, MT>;
  extern __shared__ __align__(128) unsigned char shared[];
  const std::uint32_t q_tile = smem_address(shared);
  const std::uint32_t k_tiles = q_tile + Shape::kQueryBytes;          // stage s at + s * kTileBytes
  const std::uint32_t v_tiles = k_tiles + 2 * Shape::kTileBytes;

  const DeviceTask task = a.tasks[blockIdx.x];
  const int head = static_cast<int>(blockIdx.y), kv_head = head / (a.q_heads / a.kv_heads);
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const std::int64_t q_stride = static_cast<std::int64_t>(a.q_heads) * D;
  const std::int64_t kv_stride = static_cast<std::int64_t>(a.kv_heads) * D;

  load_tile_async<BM, D, Shape::kThreads>(q_tile, a.q + (task.row_begin * a.q_heads + head) * D, q_stride, task.rows);
  KeyBlockCursor cursor{a.slices, a.members, task.member_begin, task.member_end, task.offset + task.rows - 1};
  cursor.settle();
  auto load_keys = [&](const KeyBlockCursor& c, int stage) {
    const AttentionSlice& s = c.slice();
    const std::int64_t first = (s.k_begin + c.block) * a.kv_heads + kv_head;
    const int rows = static_cast<int>(c.key_end - c.block < kKeyBlock ? c.key_end - c.block : kKeyBlock);
    load_tile_async<kKeyBlock, D, Shape::kThreads>(k_tiles + stage * Shape::kTileBytes, a.k + first * D, kv_stride, rows);
    load_tile_async<kKeyBlock, D, Shape::kThreads>(v_tiles + stage * Shape::kTileBytes, a.v + first * D, kv_stride, rows);
  };
  if (cursor.valid()) load_keys(cursor, 0);
  cp_async_commit();

  // Row (m, r) of this thread: tile row row0 + 16 m + 8 r + g.
  float o[MT][D / 8][4] = {};
  float m_run[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) m_run[mt][0] = m_run[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;
  std::uint32_t qf[Shape::kQueriesInRegisters ? D / 16 : 1][4];
  const int row0 = warp * Shape::kRowsPerWarp;  // this warp's first row in the tile
  int stage = 0;
  bool have_queries = false;

  while (cursor.valid()) {
    cp_async_wait_all();
    __syncthreads();  // this stage's K/V (and Q) are visible; every warp is done with the other stage
    if (Shape::kQueriesInRegisters && !have_queries) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) load_a<D>(qf[Shape::kQueriesInRegisters ? kk : 0], q_tile, row0, kk * 16);
      have_queries = true;
    }
    const AttentionSlice s = cursor.slice();
    const std::int64_t block = cursor.block, key_end = cursor.key_end;
    KeyBlockCursor next = cursor;
    next.advance();
    if (next.valid()) load_keys(next, stage ^ 1);
    cp_async_commit();

    const std::uint32_t k_tile = k_tiles + stage * Shape::kTileBytes;
    const std::uint32_t v_tile = v_tiles + stage * Shape::kTileBytes;
    float x[MT][kKeyBlock / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      std::uint32_t qa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        if constexpr (Shape::kQueriesInRegisters) {
#pragma unroll
          for (int e = 0; e < 4; ++e) qa[mt][e] = qf[kk][e];
        } else {
          load_a<D>(qa[mt], q_tile, row0 + 16 * mt, kk * 16);
        }
      }
#pragma unroll
      for (int nn = 0; nn < kKeyBlock / 16; ++nn) {
        std::uint32_t b[4];
        load_b_from_nk<D>(b, k_tile, nn * 16, kk * 16);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma(x[mt][2 * nn], qa[mt], b[0], b[1]);
          mma(x[mt][2 * nn + 1], qa[mt], b[2], b[3]);
        }
      }
    }

    // Scores in base 2; -inf where the mask hides the pair. Only blocks that cross the diagonal
    // or the end of the visible keys need the test, done as "column < the row's visible count".
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int n = 0; n < kKeyBlock / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) x[mt][n][e] *= a.scale_log2;
    if (block + kKeyBlock > key_end || block + kKeyBlock - 1 > task.offset + s.diag) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        int visible[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          std::int64_t keys = s.visible_keys(task.offset + row0 + 16 * mt + 8 * r + g);
          keys = (keys < key_end ? keys : key_end) - block;
          visible[r] = keys < 0 ? 0 : (keys > kKeyBlock ? kKeyBlock : static_cast<int>(keys));
        }
#pragma unroll
        for (int n = 0; n < kKeyBlock / 8; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (n * 8 + 2 * t + (e & 1) >= visible[e >> 1]) x[mt][n][e] = -INFINITY;
      }
    }

#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float block_max = -INFINITY;
#pragma unroll
        for (int n = 0; n < kKeyBlock / 8; ++n) block_max = fmaxf(block_max, fmaxf(x[mt][n][2 * r], x[mt][n][2 * r + 1]));
        const float m_new = fmaxf(m_run[mt][r], row_max(block_max));
        const float reference = m_new == -INFINITY ? 0.0f : m_new;  // a row that has seen nothing yet
        const float alpha = exp2_approx(m_run[mt][r] - reference);
        float sum = 0.0f;
#pragma unroll
        for (int n = 0; n < kKeyBlock / 8; ++n) {
          x[mt][n][2 * r] = exp2_approx(x[mt][n][2 * r] - reference);
          x[mt][n][2 * r + 1] = exp2_approx(x[mt][n][2 * r + 1] - reference);
          sum += x[mt][n][2 * r] + x[mt][n][2 * r + 1];
        }
        l[mt][r] = l[mt][r] * alpha + sum;  // this lane's part of the row sum; reduced once at the end
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
          o[mt][n][2 * r] *= alpha;
          o[mt][n][2 * r + 1] *= alpha;
        }
        m_run[mt][r] = m_new;
      }

#pragma unroll
    for (int ks = 0; ks < kKeyBlock / 16; ++ks) {
      std::uint32_t p[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) accumulators_to_a(p[mt], x[mt][2 * ks], x[mt][2 * ks + 1]);
#pragma unroll
      for (int dn = 0; dn < D / 16; ++dn) {
        std::uint32_t b[4];
        load_b_from_kn<D>(b, v_tile, ks * 16, dn * 16);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma(o[mt][2 * dn], p[mt], b[0], b[1]);
          mma(o[mt][2 * dn + 1], p[mt], b[2], b[3]);
        }
      }
    }
    cursor = next;
    stage ^= 1;
  }
  cp_async_wait_all();  // a tile without keys never waited for its queries

#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float total = row_sum(l[mt][r]);
      const int row = row0 + 16 * mt + 8 * r + g;
      if (row >= task.rows) continue;
      const std::int64_t token = task.row_begin + row;
      const float inv = total > 0.0f ? 1.0f / total : 0.0f;
      float* dst = a.out + (token * a.q_heads + head) * D + 2 * t;
#pragma unroll
      for (int n = 0; n < D / 8; ++n)
        *reinterpret_cast<float2*>(dst + n * 8) = make_float2(o[mt][n][2 * r] * inv, o[mt][n][2 * r + 1] * inv);
      if (t == 0) a.lse[token * a.q_heads + head] = total > 0.0f ? (m_run[mt][r] + log2f(total)) * kLn2 : -INFINITY;
    }
}

template <int D, int BM, int MT>
void launch_forward(const ForwardArgs& args, std::int32_t tasks, int q_heads, cudaStream_t stream) {
  using Shape = ForwardShape<D, BM, MT>;
  // Per launch, not once per process: the limit is a property of the current device.
  FLEXCP_CUDA_CHECK(cudaFuncSetAttribute(forward_kernel<D, BM, MT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         Shape::kSharedBytes));
  const dim3 grid(static_cast<unsigned>(tasks), static_cast<unsigned>(q_heads));
  forward_kernel<D, BM, MT><<<grid, Shape::kThreads, Shape::kSharedBytes, stream>>>(args);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}
}  // namespace

void tc_forward(const HeadLayout& layout, const DeviceSliceSet& slices, int query_tile, int rows_per_warp,
                const KernelInputs& in, float* out, float* lse, cudaStream_t stream) {
  const auto tasks = slices.query_tasks(query_tile);
  if (tasks.count == 0) return;
  const ForwardArgs args{slices.slices(),
                         slices.query_members(),
                         tasks.tasks,
                         static_cast<const __nv_bfloat16*>(in.q),
                         static_cast<const __nv_bfloat16*>(in.k),
                         static_cast<const __nv_bfloat16*>(in.v),
                         out,
                         lse,
                         layout.q_heads,
                         layout.kv_heads,
                         layout.scale() * kLog2e};
  const int d = layout.head_dim, tiles = rows_per_warp / 16;
  if (d == 128 && query_tile == 128 && tiles == 1) return launch_forward<128, 128, 1>(args, tasks.count, layout.q_heads, stream);
  if (d == 128 && query_tile == 128 && tiles == 2) return launch_forward<128, 128, 2>(args, tasks.count, layout.q_heads, stream);
  if (d == 128 && query_tile == 64 && tiles == 1) return launch_forward<128, 64, 1>(args, tasks.count, layout.q_heads, stream);
  if (d == 64 && query_tile == 128 && tiles == 1) return launch_forward<64, 128, 1>(args, tasks.count, layout.q_heads, stream);
  if (d == 64 && query_tile == 128 && tiles == 2) return launch_forward<64, 128, 2>(args, tasks.count, layout.q_heads, stream);
  if (d == 64 && query_tile == 64 && tiles == 1) return launch_forward<64, 64, 1>(args, tasks.count, layout.q_heads, stream);
  FLEXCP_DEVICE_REQUIRE(false, "tensor-core forward: head_dim 64 or 128, query tile 64 or 128, 16 or 32 rows per warp "
                               "(32 with the 128-row tile only)");
}

}  // namespace flexcp::attn::cuda
