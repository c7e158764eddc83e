// gemv_rowvec_f32 (gemv_f32.h) with AVX-512: y = alpha * a^T B + beta * y over tiles of 64
// columns of B (4 vectors, the last one masked), each tile walking B's rows two at a time into
// two sets of accumulators (enough independent FMA chains for short tiles), so B is read once,
// row by row, and a tile's sums stay in registers. Compiled with a target attribute, picked at
// run time (never -march).
#include "backends/cpu/gemv_f32.h"

#include "backends/cpu/vec_math.h"

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tapeflow::backend::cpu {
namespace {
#define TF_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

// One tile of w <= 16 * NV columns starting at B's column 0 (B, y already offset).
template <int NV>
TF_AVX512 void tile(int64_t w, int64_t K, float alpha, const float* a, int64_t inca, const float* B,
                    int64_t ldb, float beta, float* y) {
  __mmask16 m[NV];
  for (int v = 0; v < NV; ++v) {
    int64_t left = w - 16 * v;
    m[v] = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
  }
  __m512 s0[NV], s1[NV];
  for (int v = 0; v < NV; ++v) s0[v] = s1[v] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 2 <= K; k += 2) {
    __m512 a0 = _mm512_set1_ps(a[k * inca]), a1 = _mm512_set1_ps(a[(k + 1) * inca]);
    const float* r0 = B + k * ldb;
    const float* r1 = r0 + ldb;
    for (int v = 0; v < NV; ++v) {
      s0[v] = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(m[v], r0 + 16 * v), s0[v]);
      s1[v] = _mm512_fmadd_ps(a1, _mm512_maskz_loadu_ps(m[v], r1 + 16 * v), s1[v]);
    }
  }
  if (k < K) {
    __m512 a0 = _mm512_set1_ps(a[k * inca]);
    const float* r0 = B + k * ldb;
    for (int v = 0; v < NV; ++v) s0[v] = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(m[v], r0 + 16 * v), s0[v]);
  }
  __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
  for (int v = 0; v < NV; ++v) {
    __m512 r = _mm512_mul_ps(al, _mm512_add_ps(s0[v], s1[v]));
    if (beta != 0.0f) r = _mm512_fmadd_ps(be, _mm512_maskz_loadu_ps(m[v], y + 16 * v), r);
    _mm512_mask_storeu_ps(y + 16 * v, m[v], r);
  }
}

TF_AVX512 void run(int64_t N, int64_t K, float alpha, const float* a, int64_t inca, const float* B,
                   int64_t ldb, float beta, float* y) {
  for (int64_t j = 0; j < N; j += 64) {
    int64_t w = N - j < 64 ? N - j : 64;
    switch ((w + 15) / 16) {
      case 1: tile<1>(w, K, alpha, a, inca, B + j, ldb, beta, y + j); break;
      case 2: tile<2>(w, K, alpha, a, inca, B + j, ldb, beta, y + j); break;
      case 3: tile<3>(w, K, alpha, a, inca, B + j, ldb, beta, y + j); break;
      default: tile<4>(w, K, alpha, a, inca, B + j, ldb, beta, y + j); break;
    }
  }
}

}  // namespace

bool gemv_rowvec_f32(int64_t N, int64_t K, float alpha, const float* a, int64_t inca, const float* B,
                     int64_t ldb, float beta, float* y) {
  if (vec_math_isa() != VecIsa::Avx512 || N <= 0) return false;
  run(N, K, alpha, a, inca, B, ldb, beta, y);
  return true;
}

}  // namespace tapeflow::backend::cpu
#else
namespace tapeflow::backend::cpu {
bool gemv_rowvec_f32(int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*) {
  return false;
}
}  // namespace tapeflow::backend::cpu
#endif
