// A float32 gemm kernel for small products (the layers of a small MLP: 64x784 times 784x50),
// where OpenBLAS's packing of both operands costs a third of the product. Row-major
// C(MxN) = alpha * op(A) @ op(B) + beta * C. Internal header.
#pragma once
#include <cstdint>

namespace tapeflow::backend::cpu {

// Products of at most this many multiply-adds may take gemm_small_f32 (above it OpenBLAS's
// packed, cache-blocked kernel is the faster one).
constexpr double kSmallGemmWork = 4194304.0;

// Runs the product and returns true when the CPU has AVX-512 or AVX2+FMA (vec_math_isa())
// and the shape suits the kernel (M, N >= 2, K >= 1, M*N*K <= kSmallGemmWork, not both operands
// transposed); false (nothing written) otherwise, for the
// caller's BLAS path. beta == 0 never reads C. Single-threaded; the result does not depend on
// the thread it runs on.
// With `bias` (N floats), C = alpha * op(A) @ op(B) + bias (each row), beta unused: a Dense
// layer's forward without a pass that first copies the bias into C (same values as that pass
// followed by beta = 1).
bool gemm_small_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                    int64_t ldc, const float* bias = nullptr);

// The AVX2+FMA kernel (gemm_small_avx2.cpp), for gemm_small_f32 only, which declines the
// shapes above first; this one declines (false, nothing written) only A stored transposed with
// lda a multiple of 1024 floats (OpenBLAS is faster there), and runs the product otherwise.
bool gemm_small_f32_avx2(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                         int64_t ldc, const float* bias);

}  // namespace tapeflow::backend::cpu
