#pragma once
// The dense-layer kernels of CudaKernels (the multimodal projector): a tiled row-major GEMM with
// optional transposes and accumulation, bias add, bias gradient, GELU forward and backward.
// Simple kernels rather than cuBLAS: the projector is a small part of a step, and no library
// beyond what the GPU bundle already carries is needed. Sums accumulate in double (H100/H200
// run fp64 at a useful rate), so device and host agree with the float64 check alike.
// Asynchronous on the given stream. Light header: included by nvcc (C++17).
#include <cstdint>

namespace flexcp::attn::cuda {

// c[m][n] (+)= op(a) op(b), row-major; op(a) = a [m][k] or its transpose (a is [k][m]).
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
          float* c, bool accumulate, void* stream);
// x[r][j] += bias[j]; x holds count values, rows of width.
void add_bias(float* x, const float* bias, std::int64_t count, std::int64_t width, void* stream);
// db[j] += sum_r dy[r][j]
void bias_gradient(const float* dy, float* db, std::int64_t rows, std::int64_t width, void* stream);
void gelu(const float* x, float* y, std::int64_t count, void* stream);
// dx = dy * gelu'(x)
void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t count, void* stream);

}  // namespace flexcp::attn::cuda
