// A float32 row-vector times matrix kernel for the gemm's M == 1 form (batch-1 inference of a
// Dense layer): y(N) = alpha * a^T B + beta * y, a of K elements `inca` apart, B stored K x N
// row-major (rows ldb apart), y contiguous. OpenBLAS's sgemv costs about 3x more on the short
// rows of small layers (a 784x50 kernel). Internal header.
#pragma once
#include <cstdint>

namespace tapeflow::backend::cpu {

// Runs the product and returns true when the CPU has AVX-512 (and vec_math_isa() allows it);
// false (nothing written) otherwise, for the caller's BLAS fallback. beta == 0 never reads y.
bool gemv_rowvec_f32(int64_t N, int64_t K, float alpha, const float* a, int64_t inca, const float* B,
                     int64_t ldb, float beta, float* y);

}  // namespace tapeflow::backend::cpu
