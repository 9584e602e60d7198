#pragma once
// Warp-level tensor-core building blocks of the attention kernels (sm_80 instructions, built for
// sm_90): bf16 mma.sync m16n8k16 with fp32 accumulators, ldmatrix (plain and transposed),
// cp.async with zero fill, and the XOR swizzle of shared-memory tiles.
//
// Fragment layouts (PTX ISA, "mma.m16n8k16"), with g = lane / 4 and t = lane % 4:
//   A 16x16: a0 = (row g, cols 2t..2t+1), a1 = (row g+8, same cols), a2 = (row g, cols 2t+8..),
//            a3 = (row g+8, cols 2t+8..)
//   B 16x8:  b0 = (rows 2t..2t+1, col g), b1 = (rows 2t+8.., col g)
//   C 16x8:  c0,c1 = (row g, cols 2t, 2t+1), c2,c3 = (row g+8, cols 2t, 2t+1)
// so an accumulator tile's registers, packed to bf16 pairs, are already an A fragment (the
// trick that keeps P and dS in registers between two products).
#include <cuda_bf16.h>

#include <cstdint>

namespace flexcp::attn::cuda::tc {

__device__ __forceinline__ std::uint32_t smem_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// A tile of `Rows` x `Cols` bf16 in shared memory, stored as 16-byte chunks whose index is XOR-ed
// with the row, so that the 8 rows one ldmatrix matrix (or one warp-wide store) touches fall into
// 8 different groups of 4 banks: no bank conflicts for row strides that are multiples of 128 B.
template <int Cols>
struct Swizzled {
  static constexpr int kChunks = Cols / 8;  // 16-byte chunks per row
  static_assert(Cols % 8 == 0 && (kChunks == 4 || kChunks % 8 == 0), "rows of 32 bf16 or a multiple of 64");
  __device__ __forceinline__ static std::uint32_t chunk_offset(int row, int chunk) {
    // 64-byte rows (4 chunks): two rows share a 128-byte bank line, so the swizzle uses row / 2.
    const int physical = kChunks >= 8 ? (chunk ^ (row & 7)) : (chunk ^ ((row >> 1) & 3));
    return static_cast<std::uint32_t>((row * kChunks + physical) * 16);
  }
  // Byte offset of element (row, col); col even when storing bf16 pairs.
  __device__ __forceinline__ static std::uint32_t element_offset(int row, int col) {
    return chunk_offset(row, col / 8) + static_cast<std::uint32_t>((col % 8) * 2);
  }
};

// 16 bytes global -> shared, asynchronously; `valid` false writes 16 zero bytes instead.
__device__ __forceinline__ void cp_async_16(std::uint32_t dst, const void* src, bool valid) {
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
// 4 bytes global -> shared; `valid` false writes zero.
__device__ __forceinline__ void cp_async_4(std::uint32_t dst, const void* src, bool valid) {
  const int bytes = valid ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// Rows [0, Rows) of a [row][Cols] bf16 tile whose row r starts at global + r * row_stride; rows at
// or past valid_rows are zero-filled (their source is never read).
template <int Rows, int Cols, int Threads>
__device__ __forceinline__ void load_tile_async(std::uint32_t tile, const __nv_bfloat16* global, std::int64_t row_stride,
                                                int valid_rows) {
  constexpr int kChunks = Cols / 8;
  for (int index = static_cast<int>(threadIdx.x); index < Rows * kChunks; index += Threads) {
    const int row = index / kChunks, chunk = index % kChunks;
    const bool valid = row < valid_rows;
    const __nv_bfloat16* src = global + (valid ? row * row_stride : 0) + chunk * 8;
    cp_async_16(tile + Swizzled<Cols>::chunk_offset(row, chunk), src, valid);
  }
}

__device__ __forceinline__ void ldmatrix_x4(std::uint32_t address, std::uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t address, std::uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// A fragment of rows [m0, m0+16) x cols [k0, k0+16) of a row-major [m][k] tile.
template <int Cols>
__device__ __forceinline__ void load_a(std::uint32_t (&a)[4], std::uint32_t tile, int m0, int k0) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int row = m0 + (lane & 7) + ((lane >> 3) & 1) * 8;
  ldmatrix_x4(tile + Swizzled<Cols>::chunk_offset(row, k0 / 8 + (lane >> 4)), a);
}
// A fragment of A = T^T, rows [m0, m0+16) x cols [k0, k0+16), from a row-major [k][m] tile T.
template <int Cols>
__device__ __forceinline__ void load_a_transposed(std::uint32_t (&a)[4], std::uint32_t tile, int m0, int k0) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int row = k0 + (lane & 7) + (lane >> 4) * 8;
  ldmatrix_x4_trans(tile + Swizzled<Cols>::chunk_offset(row, m0 / 8 + ((lane >> 3) & 1)), a);
}
// B fragments of two n-tiles, n in [n0, n0+16), k in [k0, k0+16), from a row-major [n][k] tile
// (each n contiguous over k, e.g. K for S = Q K^T): {b[0], b[1]} for n0, {b[2], b[3]} for n0+8.
template <int Cols>
__device__ __forceinline__ void load_b_from_nk(std::uint32_t (&b)[4], std::uint32_t tile, int n0, int k0) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int row = n0 + (lane & 7) + (lane >> 4) * 8;
  ldmatrix_x4(tile + Swizzled<Cols>::chunk_offset(row, k0 / 8 + ((lane >> 3) & 1)), b);
}
// The same from a row-major [k][n] tile (each k contiguous over n, e.g. V for O = P V).
template <int Cols>
__device__ __forceinline__ void load_b_from_kn(std::uint32_t (&b)[4], std::uint32_t tile, int k0, int n0) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const int row = k0 + (lane & 7) + ((lane >> 3) & 1) * 8;
  ldmatrix_x4_trans(tile + Swizzled<Cols>::chunk_offset(row, n0 / 8 + (lane >> 4)), b);
}

// d += a * b (16x8x16, bf16 inputs, fp32 accumulators).
__device__ __forceinline__ void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as a bf16 pair: `low` in bits 0-15 (the lower column index of a fragment).
__device__ __forceinline__ std::uint32_t pack_bf16(float low, float high) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(low, high);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}
// Accumulator tiles n and n+1 (16 x 16 of fp32) as one A fragment of bf16.
__device__ __forceinline__ void accumulators_to_a(std::uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = pack_bf16(lo[0], lo[1]);
  a[1] = pack_bf16(lo[2], lo[3]);
  a[2] = pack_bf16(hi[0], hi[1]);
  a[3] = pack_bf16(hi[2], hi[3]);
}

// 2^x with the special-function unit (ex2.approx: 2 ulp; 2^-inf = +0).
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Max / sum over the 4 lanes (t = 0..3) that share an accumulator row.
__device__ __forceinline__ float row_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float row_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

inline constexpr float kLog2e = 1.4426950408889634f;
inline constexpr float kLn2 = 0.6931471805599453f;

}  // namespace flexcp::attn::cuda::tc
