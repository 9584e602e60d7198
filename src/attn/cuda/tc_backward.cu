// Tensor-core backward over attention slices (FlashAttention-2 style, bf16 mma.sync with fp32
// accumulators). One block per (key tile of 64 rows, KV head); each of its 4 warps owns 16 keys
// and keeps their dK and dV in registers for the whole block, so dK/dV need no atomics. The
// block walks every query head of its KV head's group, every slice of its key segment, and the
// query rows that see its keys, `BQ` rows per step (Q, dO, lse and D double-buffered with
// cp.async). Per step, in the key-major orientation that keeps every operand in registers or
// in a swizzled shared tile:
//   S^T = K Q^T, P^T = exp2(S^T * log2(e)/sqrt(d) - lse), dV += P^T dO,
//   dP^T = V dO^T, dS^T = P^T (dP^T - D), dK += dS^T Q,
//   dQ += dS K / sqrt(d)  (dS^T through shared memory; fp32 atomics, as FlashAttention-2 does).
#include <cuda_bf16.h>

#include <cmath>

#include "attn/cuda/kernel_launchers.hpp"
#include "attn/cuda/tc_primitives.cuh"
#include "device/check.hpp"

namespace flexcp::attn::cuda {
namespace {
using namespace tc;

constexpr int kKeyTile = 64;  // 4 warps x 16 keys
constexpr int kThreads = 128;

struct BackwardArgs {
  const AttentionSlice* slices;
  const std::int32_t* members;
  const DeviceTask* tasks;
  const __nv_bfloat16 *q, *k, *v, *dout;
  const float *lse, *rowsum;
  float *dq, *dk, *dv;
  int q_heads, kv_heads;
  float scale, scale_log2;
};

// The query steps a key tile visits: each query head of the group, each member slice with a key
// in the tile, and the rows from the first that sees the tile's first key to the segment's end.
template <int BQ>
struct QueryStepCursor {
  const AttentionSlice* slices;
  const std::int32_t* members;
  std::int32_t member_begin, member_end;
  std::int64_t key_offset;  // the tile's first key, segment coordinates
  int head, head_end;
  std::int32_t member = 0;
  std::int64_t row = 0;     // first query row of the step

  __device__ bool valid() const { return head < head_end; }
  __device__ const AttentionSlice& slice() const { return slices[members[member]]; }
  __device__ void settle() {  // from (head, member) on, the first slice that holds a key of the tile
    for (; head < head_end; ++head, member = member_begin)
      for (; member < member_end; ++member)
        if (key_offset < slice().k_len) {
          row = slice().first_query_seeing(key_offset);
          return;
        }
  }
  __device__ void start() {
    member = member_begin;
    settle();
  }
  __device__ void advance() {
    row += BQ;
    if (row < slice().q_len) return;
    if (++member == member_end) {
      ++head;
      member = member_begin;
    }
    settle();
  }
};

template <int D, int BQ>
struct BackwardShape {
  static constexpr int kKeyBytes = kKeyTile * D * 2;
  static constexpr int kQueryBytes = BQ * D * 2;
  static constexpr int kScoreBytes = kKeyTile * BQ * 2;  // dS^T, bf16
  static constexpr int kStatBytes = BQ * 4;
  // K, V; 2 stages of Q and dO; dS^T; 2 stages of lse and of D.
  static constexpr int kSharedBytes = 2 * kKeyBytes + 4 * kQueryBytes + kScoreBytes + 4 * kStatBytes;
};

template <int D, int BQ>
__global__ void __launch_bounds__(kThreads) backward_kernel(BackwardArgs a) {
  using Shape = BackwardShape<D, BQ>;
  extern __shared__ __align__(128) unsigned char shared[];
  const std::uint32_t k_tile = smem_address(shared);
  const std::uint32_t v_tile = k_tile + Shape::kKeyBytes;
  const std::uint32_t q_tiles = v_tile + Shape::kKeyBytes;       // stage s at + s * kQueryBytes
  const std::uint32_t do_tiles = q_tiles + 2 * Shape::kQueryBytes;
  unsigned char* const ds_tile_ptr = shared + 2 * Shape::kKeyBytes + 4 * Shape::kQueryBytes;
  const std::uint32_t ds_tile = smem_address(ds_tile_ptr);
  float* const lse_stage = reinterpret_cast<float*>(ds_tile_ptr + Shape::kScoreBytes);  // [2][BQ]
  float* const rowsum_stage = lse_stage + 2 * BQ;                                         // [2][BQ]

  const DeviceTask task = a.tasks[blockIdx.x];
  const int kv_head = static_cast<int>(blockIdx.y), group = a.q_heads / a.kv_heads;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const std::int64_t q_stride = static_cast<std::int64_t>(a.q_heads) * D;
  const std::int64_t kv_stride = static_cast<std::int64_t>(a.kv_heads) * D;

  const std::int64_t first_key = task.row_begin * a.kv_heads + kv_head;
  load_tile_async<kKeyTile, D, kThreads>(k_tile, a.k + first_key * D, kv_stride, task.rows);
  load_tile_async<kKeyTile, D, kThreads>(v_tile, a.v + first_key * D, kv_stride, task.rows);

  QueryStepCursor<BQ> cursor{a.slices, a.members, task.member_begin, task.member_end, task.offset,
                             kv_head * group, (kv_head + 1) * group};
  cursor.start();
  auto load_queries = [&](const QueryStepCursor<BQ>& c, int stage) {
    const AttentionSlice& s = c.slice();
    const std::int64_t first_row = s.q_begin + c.row;
    const int rows = static_cast<int>(s.q_len - c.row < BQ ? s.q_len - c.row : BQ);
    const std::int64_t first = first_row * a.q_heads + c.head;
    load_tile_async<BQ, D, kThreads>(q_tiles + stage * Shape::kQueryBytes, a.q + first * D, q_stride, rows);
    load_tile_async<BQ, D, kThreads>(do_tiles + stage * Shape::kQueryBytes, a.dout + first * D, q_stride, rows);
    const int r = static_cast<int>(threadIdx.x) % BQ;
    const bool valid = r < rows;
    const std::int64_t element = valid ? first + static_cast<std::int64_t>(r) * a.q_heads : first;
    if (threadIdx.x < BQ)
      cp_async_4(smem_address(lse_stage + stage * BQ + r), a.lse + element, valid);
    else if (threadIdx.x < 2 * BQ)
      cp_async_4(smem_address(rowsum_stage + stage * BQ + r), a.rowsum + element, valid);
  };
  if (cursor.valid()) load_queries(cursor, 0);
  cp_async_commit();

  float dk[D / 8][4] = {}, dv[D / 8][4] = {};
  const int key0 = warp * 16;  // this warp's first key in the tile
  const std::int64_t key_rows_end = task.offset + task.rows;  // segment coordinates
  int stage = 0;

  while (cursor.valid()) {
    cp_async_wait_all();
    __syncthreads();  // this stage is visible; every warp is done with the other stage and dS^T
    const AttentionSlice s = cursor.slice();
    const std::int64_t row = cursor.row;
    const int head = cursor.head;
    QueryStepCursor<BQ> next = cursor;
    next.advance();
    if (next.valid()) load_queries(next, stage ^ 1);
    cp_async_commit();

    const std::uint32_t q_s = q_tiles + stage * Shape::kQueryBytes;
    const std::uint32_t do_s = do_tiles + stage * Shape::kQueryBytes;
    const float* lse_s = lse_stage + stage * BQ;
    const float* rowsum_s = rowsum_stage + stage * BQ;

    // S^T = K Q^T: this warp's 16 keys x BQ queries.
    float p[BQ / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      std::uint32_t ka[4];
      load_a<D>(ka, k_tile, key0, kk * 16);
#pragma unroll
      for (int nn = 0; nn < BQ / 16; ++nn) {
        std::uint32_t b[4];
        load_b_from_nk<D>(b, q_s, nn * 16, kk * 16);
        mma(p[2 * nn], ka, b[0], b[1]);
        mma(p[2 * nn + 1], ka, b[2], b[3]);
      }
    }
    // P^T. Only steps that cross the diagonal or an end of the keys or queries need the mask,
    // done per key row as a window of visible query columns [first, end).
    const std::int64_t key_limit = s.k_len < key_rows_end ? s.k_len : key_rows_end;
    int first[2] = {0, 0}, end[2] = {BQ, BQ};
    if (task.offset + kKeyTile > key_limit || task.offset + kKeyTile - 1 > row + s.diag || row + BQ > s.q_len) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const std::int64_t j = task.offset + key0 + g + 8 * r;
        const std::int64_t from = s.first_query_seeing(j) - row, to = s.q_len - row;
        first[r] = from < 0 ? 0 : (from > BQ ? BQ : static_cast<int>(from));
        end[r] = j >= key_limit ? 0 : (to > BQ ? BQ : static_cast<int>(to));
      }
    }
#pragma unroll
    for (int n = 0; n < BQ / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int column = n * 8 + 2 * t + (e & 1);
        const float value = exp2_approx(p[n][e] * a.scale_log2 - lse_s[column] * kLog2e);
        p[n][e] = column >= first[e >> 1] && column < end[e >> 1] ? value : 0.0f;
      }
    // dV += P^T dO.
#pragma unroll
    for (int ks = 0; ks < BQ / 16; ++ks) {
      std::uint32_t pa[4];
      accumulators_to_a(pa, p[2 * ks], p[2 * ks + 1]);
#pragma unroll
      for (int dn = 0; dn < D / 16; ++dn) {
        std::uint32_t b[4];
        load_b_from_kn<D>(b, do_s, ks * 16, dn * 16);
        mma(dv[2 * dn], pa, b[0], b[1]);
        mma(dv[2 * dn + 1], pa, b[2], b[3]);
      }
    }
    // dP^T = V dO^T, then dS^T = P^T (dP^T - D) in place.
    float ds[BQ / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      std::uint32_t va[4];
      load_a<D>(va, v_tile, key0, kk * 16);
#pragma unroll
      for (int nn = 0; nn < BQ / 16; ++nn) {
        std::uint32_t b[4];
        load_b_from_nk<D>(b, do_s, nn * 16, kk * 16);
        mma(ds[2 * nn], va, b[0], b[1]);
        mma(ds[2 * nn + 1], va, b[2], b[3]);
      }
    }
#pragma unroll
    for (int n = 0; n < BQ / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) ds[n][e] = p[n][e] * (ds[n][e] - rowsum_s[n * 8 + 2 * t + (e & 1)]);
    // dK += dS^T Q (scaled once at the end), and dS^T to shared memory for dQ.
#pragma unroll
    for (int ks = 0; ks < BQ / 16; ++ks) {
      std::uint32_t da[4];
      accumulators_to_a(da, ds[2 * ks], ds[2 * ks + 1]);
#pragma unroll
      for (int dn = 0; dn < D / 16; ++dn) {
        std::uint32_t b[4];
        load_b_from_kn<D>(b, q_s, ks * 16, dn * 16);
        mma(dk[2 * dn], da, b[0], b[1]);
        mma(dk[2 * dn + 1], da, b[2], b[3]);
      }
    }
#pragma unroll
    for (int n = 0; n < BQ / 8; ++n) {
      const int column = n * 8 + 2 * t;
      *reinterpret_cast<std::uint32_t*>(ds_tile_ptr + Swizzled<BQ>::element_offset(key0 + g, column)) =
          pack_bf16(ds[n][0], ds[n][1]);
      *reinterpret_cast<std::uint32_t*>(ds_tile_ptr + Swizzled<BQ>::element_offset(key0 + g + 8, column)) =
          pack_bf16(ds[n][2], ds[n][3]);
    }
    __syncthreads();  // dS^T complete

    // dQ (BQ x D) += dS K: jobs of 16 query rows x 64 dims, spread over the warps.
    constexpr int kRowTiles = BQ / 16, kJobs = kRowTiles * (D / 64);
#pragma unroll
    for (int job = warp; job < kJobs; job += kThreads / 32) {
      const int m0 = (job % kRowTiles) * 16, d0 = (job / kRowTiles) * 64;
      float acc[8][4] = {};
#pragma unroll
      for (int ks = 0; ks < kKeyTile / 16; ++ks) {
        std::uint32_t da[4];
        load_a_transposed<BQ>(da, ds_tile, m0, ks * 16);
#pragma unroll
        for (int dn = 0; dn < 4; ++dn) {
          std::uint32_t b[4];
          load_b_from_kn<D>(b, k_tile, ks * 16, d0 + dn * 16);
          mma(acc[2 * dn], da, b[0], b[1]);
          mma(acc[2 * dn + 1], da, b[2], b[3]);
        }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const std::int64_t i = row + m0 + g + 8 * r;
        if (i >= s.q_len) continue;
        float* dst = a.dq + ((s.q_begin + i) * a.q_heads + head) * D + d0 + 2 * t;
#pragma unroll
        for (int n = 0; n < 8; ++n)
          atomicAdd(reinterpret_cast<float2*>(dst + n * 8), make_float2(acc[n][2 * r] * a.scale, acc[n][2 * r + 1] * a.scale));
      }
    }
    cursor = next;
    stage ^= 1;
  }
  cp_async_wait_all();  // a tile without query steps never waited for its keys

  // This block owns its key rows of this KV head: plain read-add-write.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = key0 + g + 8 * r;
    if (key >= task.rows) continue;
    const std::int64_t element = ((task.row_begin + key) * a.kv_heads + kv_head) * D + 2 * t;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      auto* dk_dst = reinterpret_cast<float2*>(a.dk + element + n * 8);
      auto* dv_dst = reinterpret_cast<float2*>(a.dv + element + n * 8);
      const float2 dk_old = *dk_dst, dv_old = *dv_dst;
      *dk_dst = make_float2(dk_old.x + dk[n][2 * r] * a.scale, dk_old.y + dk[n][2 * r + 1] * a.scale);
      *dv_dst = make_float2(dv_old.x + dv[n][2 * r], dv_old.y + dv[n][2 * r + 1]);
    }
  }
}

template <int D, int BQ>
void launch_backward(const BackwardArgs& args, std::int32_t tasks, int kv_heads, cudaStream_t stream) {
  using Shape = BackwardShape<D, BQ>;
  // Per launch, not once per process: the limit is a property of the current device.
  FLEXCP_CUDA_CHECK(cudaFuncSetAttribute(backward_kernel<D, BQ>, cudaFuncAttributeMaxDynamicSharedMemorySize, Shape::kSharedBytes));
  const dim3 grid(static_cast<unsigned>(tasks), static_cast<unsigned>(kv_heads));
  backward_kernel<D, BQ><<<grid, kThreads, Shape::kSharedBytes, stream>>>(args);
  FLEXCP_CUDA_CHECK(cudaGetLastError());
}
}  // namespace

void tc_backward(const HeadLayout& layout, const DeviceSliceSet& slices, int query_block, const KernelInputs& in,
                 const float* lse, const float* rowsum, float* dq, float* dk, float* dv, cudaStream_t stream) {
  const auto tasks = slices.key_tasks(kKeyTile);
  if (tasks.count == 0) return;
  const float scale = layout.scale();
  const BackwardArgs args{slices.slices(),
                          slices.key_members(),
                          tasks.tasks,
                          static_cast<const __nv_bfloat16*>(in.q),
                          static_cast<const __nv_bfloat16*>(in.k),
                          static_cast<const __nv_bfloat16*>(in.v),
                          static_cast<const __nv_bfloat16*>(in.dout),
                          lse,
                          rowsum,
                          dq,
                          dk,
                          dv,
                          layout.q_heads,
                          layout.kv_heads,
                          scale,
                          scale * kLog2e};
  const int d = layout.head_dim;
  if (d == 128 && query_block == 64) return launch_backward<128, 64>(args, tasks.count, layout.kv_heads, stream);
  if (d == 128 && query_block == 32) return launch_backward<128, 32>(args, tasks.count, layout.kv_heads, stream);
  if (d == 64 && query_block == 64) return launch_backward<64, 64>(args, tasks.count, layout.kv_heads, stream);
  if (d == 64 && query_block == 32) return launch_backward<64, 32>(args, tasks.count, layout.kv_heads, stream);
  FLEXCP_DEVICE_REQUIRE(false, "tensor-core backward: head_dim must be 64 or 128 and the query block 32 or 64");
}

}  // namespace flexcp::attn::cuda
