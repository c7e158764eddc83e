// The AVX-512 small-gemm kernel's tail columns (gemm_small_avx512.h): the 1-7 columns of C
// past the last whole vector of 16 (a 784x50 layer: 48 + 2), which would otherwise waste most of
// a masked vector on every FMA. Compiled with a target attribute, picked at run time.
#include "backends/cpu/gemm_small_avx512.h"

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tapeflow::backend::cpu::gemm_small_detail {
#define TF_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

// The last T (< 8) columns of C when A's rows are contiguous (A stored M x K): T dot products of
// length kn per row, R rows at a time, against the tail columns of B stored as T contiguous
// rows bt (row jj at bt + jj * ldt).
template <int T>
TF_AVX512 void tail_dots(const Args& g, int64_t M, int64_t kn, const float* bt, int64_t ldt, bool first) {
  constexpr int R = tail_rows<T>();
  const __mmask16 last = __mmask16((1u << (((kn - 1) & 15) + 1)) - 1u);
  for (int64_t i = 0; i < M; i += R) {
    const int rows = M - i < R ? int(M - i) : R;
    const float* ar[R];
    for (int r = 0; r < R; ++r) ar[r] = g.A + (i + (r < rows ? r : 0)) * g.sai;
    __m512 acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 7
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kn; k += 16) {
      __mmask16 m = kn - k >= 16 ? __mmask16(0xffff) : last;
      __m512 bv[T];
#pragma GCC unroll 7
      for (int t = 0; t < T; ++t) bv[t] = _mm512_maskz_loadu_ps(m, bt + t * ldt + k);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        __m512 av = _mm512_maskz_loadu_ps(m, ar[r] + k);
#pragma GCC unroll 7
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(av, bv[t], acc[r][t]);
      }
    }
    float sums[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 7
      for (int t = 0; t < T; ++t) sums[r][t] = _mm512_reduce_add_ps(acc[r][t]);
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < T; ++t)
        put(g.C + (i + r) * g.ldc + t, sums[r][t], g.alpha, g.beta, g.bias ? g.bias + t : nullptr, first);
  }
}

// The last T (< 8) columns of C when A's columns are contiguous (A stored K x M): V vectors of
// 16 rows of C per column (the last one masked by `tail`), B's elements broadcast
// (B(k, j) = b[k * bk + j * bj]); a column of results goes to C by one scatter (rows ldc apart)
// where 15 * ldc fits an int.
template <int T, int V>
TF_AVX512 void tail_cols_block(const Args& g, int64_t i, int64_t K, const float* b, int64_t bk, int64_t bj,
                               __mmask16 tail) {
  __m512 acc[V][T];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 7
    for (int t = 0; t < T; ++t) acc[v][t] = _mm512_setzero_ps();
  const float* a = g.A + i;
  for (int64_t k = 0; k < K; ++k, a += g.sak) {
    __m512 av[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      av[v] = v == V - 1 ? _mm512_maskz_loadu_ps(tail, a + 16 * v) : _mm512_loadu_ps(a + 16 * v);
#pragma GCC unroll 7
    for (int t = 0; t < T; ++t) {
      __m512 bv = _mm512_set1_ps(b[k * bk + t * bj]);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[v][t] = _mm512_fmadd_ps(av[v], bv, acc[v][t]);
    }
  }
  const bool scatter = g.ldc < (int64_t(1) << 26);
  const __m512i rows_at = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(scatter ? int(g.ldc) : 0));
  const __m512 al = _mm512_set1_ps(g.alpha), be = _mm512_set1_ps(g.beta);
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const __mmask16 m = v == V - 1 ? tail : __mmask16(0xffff);
#pragma GCC unroll 7
    for (int t = 0; t < T; ++t) {
      float* c = g.C + (i + 16 * v) * g.ldc + t;
      __m512 s = _mm512_mul_ps(al, acc[v][t]);
      if (scatter) {
        if (g.beta != 0.0f) s = _mm512_fmadd_ps(be, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, rows_at, c, 4), s);
        else if (g.bias) s = _mm512_add_ps(s, _mm512_set1_ps(g.bias[t]));
        _mm512_mask_i32scatter_ps(c, m, rows_at, s, 4);
      } else {
        alignas(64) float out[16];
        _mm512_store_ps(out, acc[v][t]);
        for (int l = 0; l < 16; ++l)
          if (m >> l & 1) put(c + l * g.ldc, out[l], g.alpha, g.beta, g.bias ? g.bias + t : nullptr, true);
      }
    }
  }
}

template <int T>
TF_AVX512 void tail_cols(const Args& g, int64_t M, int64_t K, const float* b, int64_t bk, int64_t bj) {
  constexpr int R = tail_rows<T>();
  int64_t i = 0;
  for (; i + 16 * R <= M; i += 16 * R) tail_cols_block<T, R>(g, i, K, b, bk, bj, 0xffff);
  if (i == M) return;
  // The last rows: as many vectors as they fill (each FMA chain waits out the FMA latency, so
  // the more vectors side by side, the better), the last one masked.
  const int64_t left = M - i, vecs = (left + 15) / 16, last = left - 16 * (vecs - 1);
  const __mmask16 m = last >= 16 ? __mmask16(0xffff) : __mmask16((1u << last) - 1u);
  switch (vecs) {  // <= R <= 8 (left < 16 * R rows: 113-127 of R = 8 take 8 vectors)
    case 1: return tail_cols_block<T, 1>(g, i, K, b, bk, bj, m);
    case 2: return tail_cols_block<T, 2>(g, i, K, b, bk, bj, m);
    case 3: return tail_cols_block<T, 3>(g, i, K, b, bk, bj, m);
    case 4: return tail_cols_block<T, 4>(g, i, K, b, bk, bj, m);
    case 5: return tail_cols_block<T, 5>(g, i, K, b, bk, bj, m);
    case 6: return tail_cols_block<T, 6>(g, i, K, b, bk, bj, m);
    case 7: return tail_cols_block<T, 7>(g, i, K, b, bk, bj, m);
    default: return tail_cols_block<T, 8>(g, i, K, b, bk, bj, m);
  }
}

void run_tail_dots(int64_t t, const Args& g, int64_t M, int64_t kn, const float* bt, int64_t ldt, bool first) {
  switch (t) {
    case 1: return tail_dots<1>(g, M, kn, bt, ldt, first);
    case 2: return tail_dots<2>(g, M, kn, bt, ldt, first);
    case 3: return tail_dots<3>(g, M, kn, bt, ldt, first);
    case 4: return tail_dots<4>(g, M, kn, bt, ldt, first);
    case 5: return tail_dots<5>(g, M, kn, bt, ldt, first);
    case 6: return tail_dots<6>(g, M, kn, bt, ldt, first);
    default: return tail_dots<7>(g, M, kn, bt, ldt, first);
  }
}

void run_tail_cols(int64_t t, const Args& g, int64_t M, int64_t K, const float* b, int64_t bk, int64_t bj) {
  switch (t) {
    case 1: return tail_cols<1>(g, M, K, b, bk, bj);
    case 2: return tail_cols<2>(g, M, K, b, bk, bj);
    case 3: return tail_cols<3>(g, M, K, b, bk, bj);
    case 4: return tail_cols<4>(g, M, K, b, bk, bj);
    case 5: return tail_cols<5>(g, M, K, b, bk, bj);
    case 6: return tail_cols<6>(g, M, K, b, bk, bj);
    default: return tail_cols<7>(g, M, K, b, bk, bj);
  }
}

}  // namespace tapeflow::backend::cpu::gemm_small_detail
#endif
