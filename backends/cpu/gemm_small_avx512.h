// Internal pieces shared by the AVX-512 small-gemm kernel's two sources: the arguments of a
// tile, the chunk of k, the element writer, and the tail-column kernels
// (gemm_small_tail_avx512.cpp) for the 1-7 columns past the last whole vector of C.
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

// Rows of C a tail kernel works on together: enough independent accumulators (R * T) to keep
// both FMA pipes busy through the FMA latency, and no more than the registers hold.
template <int T>
constexpr int tail_rows() { return T <= 2 ? 8 : T <= 4 ? 4 : 2; }

// Copies t columns of kn rows of B (rows ldb apart) into t rows of pack, kKc apart.
inline void pack_tail(const float* b, int64_t ldb, int64_t kn, int64_t t, float* pack) {
  for (int64_t k = 0; k < kn; ++k)
    for (int64_t j = 0; j < t; ++j) pack[j * kKc + k] = b[k * ldb + j];
}

// Columns [0, t) of g.C (offset to the first tail column; g.bias too), 1 <= t <= 7:
// A stored M x K (g.sai == K's stride 1): kn values of k of t dot products per row against the
// tail columns of B stored as t rows bt, ldt apart (first: the first chunk of k).
void run_tail_dots(int64_t t, const Args& g, int64_t M, int64_t kn, const float* bt, int64_t ldt, bool first);
// A stored K x M (g.sai == 1): all K at once, B(k, j) = b[k * bk + j * bj].
void run_tail_cols(int64_t t, const Args& g, int64_t M, int64_t K, const float* b, int64_t bk, int64_t bj);

}  // namespace tapeflow::backend::cpu::gemm_small_detail
