// The pieces both small-gemm kernels (gemm_small_avx512.cpp, gemm_small_avx2.cpp) share: the
// arguments of a tile, the chunk of k, the element writer and the tail-column pack.
// Internal header (not public API).
#pragma once
#include <cstdint>

#include "backends/cpu/prefetch.h"

namespace tapeflow::backend::cpu::gemm_small_detail {

constexpr int64_t kKc = 512;  // k chunk: a chunk of a 64-column panel of B is 128 KiB

struct Args {
  const float* A;  // A(i, k) = A[i * sai + k * sak]
  int64_t sai, sak;
  const float* B;  // B(k, j) = B[k * ldb + j]
  int64_t ldb;
  float* C;
  int64_t ldc;
  float alpha, beta;
  const float* bias;  // nullptr, or bias[j] added to column j of C (then beta == 0)
  PrefetchCursor* pf;  // nullptr, or the calling thread's queued lines (prefetch.h)
};

// Writes alpha * s + beta * C or alpha * s + bias (first chunk; bias: the column's bias or
// nullptr) or adds alpha * s (later chunks) to one element.
inline void put(float* c, float s, float alpha, float beta, const float* bias, bool first) {
  if (!first) *c += alpha * s;
  else if (bias) *c = alpha * s + *bias;
  else *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
}

// Copies t columns of kn rows of B (rows ldb apart) into t rows of pack, kKc apart.
inline void pack_tail(const float* b, int64_t ldb, int64_t kn, int64_t t, float* pack) {
  for (int64_t k = 0; k < kn; ++k)
    for (int64_t j = 0; j < t; ++j) pack[j * kKc + k] = b[k * ldb + j];
}

}  // namespace tapeflow::backend::cpu::gemm_small_detail
