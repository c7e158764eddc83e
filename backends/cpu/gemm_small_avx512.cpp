// gemm_small_f32 (gemm_small_f32.h) with AVX-512. C is computed in tiles of MR rows by up to 64
// columns (NV vectors, the last one masked), the tile's sums held in registers: for each k, NV
// vectors of B's row k are loaded and each of the tile's MR elements A(i, k) is broadcast into
// them. A is read in place through two strides (so A and A^T need no packing); B in place when
// it is stored K x N, or packed 64 columns at a time when it is stored transposed. K is walked
// in chunks of kKc so a chunk's columns of B stay in cache for every tile of rows. Compiled with
// a target attribute, picked at run time (never -march).
#include "backends/cpu/gemm_small_f32.h"

#include <algorithm>
#include <memory>

#include "backends/cpu/prefetch.h"
#include "backends/cpu/vec_math.h"

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tapeflow::backend::cpu {
namespace gemm_small_detail {
#define TF_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

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

// Rows [0, MR) of C times kn values of k (A, B and C offset to the tile and the chunk): the
// first chunk writes alpha * sum + beta * C, later ones add alpha * sum.
template <int MR, int NV>
TF_AVX512 void tile(const Args& g, int64_t kn, bool first, __mmask16 last) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  const float* a = g.A;
  const float* b = g.B;
  // Queued lines of the next batch (prefetch.h), one per 4 steps of k: a few misses in flight
  // at a time, so they neither burst nor take the miss buffers this tile's loads need.
  constexpr int kPf = 128;
  const char* pf[kPf];
  const int npf = g.pf ? g.pf->take(pf, int(std::min<int64_t>({kPf, (kn + 3) / 4, (MR * NV * 16 * kn) >> 10}))) : 0;
  int ipf = 0;
  for (int64_t k0 = 0; k0 < kn; k0 += 4) {
    if (ipf < npf) __builtin_prefetch(pf[ipf++], 0, 3);
    const int64_t k1 = kn - k0 < 4 ? kn : k0 + 4;
    for (int64_t k = k0; k < k1; ++k, a += g.sak, b += g.ldb) {
      __m512 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m512 av = _mm512_set1_ps(a[r * g.sai]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
  }
  __m512 al = _mm512_set1_ps(g.alpha), be = _mm512_set1_ps(g.beta);
  const bool read_c = !first || g.beta != 0.0f, add_bias = first && g.bias != nullptr;
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* c = g.C + r * g.ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __mmask16 m = v == NV - 1 ? last : __mmask16(0xffff);
      __m512 s = _mm512_mul_ps(al, acc[r][v]);
      if (read_c) {
        __m512 old = _mm512_maskz_loadu_ps(m, c + 16 * v);
        s = first ? _mm512_fmadd_ps(be, old, s) : _mm512_add_ps(old, s);
      } else if (add_bias) {
        s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, g.bias + 16 * v));
      }
      _mm512_mask_storeu_ps(c + 16 * v, m, s);
    }
  }
}

// Every tile of rows of one panel (NV vectors wide) over one chunk of k.
template <int NV, int MR>
TF_AVX512 void panel(const Args& g, int64_t M, int64_t kn, bool first, __mmask16 last) {
  int64_t i = 0;
  for (; i + MR <= M; i += MR) {
    Args t = g;
    t.A += i * g.sai;
    t.C += i * g.ldc;
    tile<MR, NV>(t, kn, first, last);
  }
  if (i == M) return;
  Args t = g;
  t.A += i * g.sai;
  t.C += i * g.ldc;
  switch (M - i) {  // MR <= 8
    case 1: tile<1, NV>(t, kn, first, last); break;
    case 2: tile<2, NV>(t, kn, first, last); break;
    case 3: tile<3, NV>(t, kn, first, last); break;
    case 4: tile<4, NV>(t, kn, first, last); break;
    case 5: tile<5, NV>(t, kn, first, last); break;
    case 6: tile<6, NV>(t, kn, first, last); break;
    default: tile<7, NV>(t, kn, first, last); break;
  }
}

TF_AVX512 void run_panel(const Args& g, int64_t M, int64_t w, int64_t kn, bool first) {
  int64_t left = w - 16 * ((w - 1) / 16);
  __mmask16 last = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
  switch ((w + 15) / 16) {
    case 1: panel<1, 8>(g, M, kn, first, last); break;
    case 2: panel<2, 8>(g, M, kn, first, last); break;
    case 3: panel<3, 8>(g, M, kn, first, last); break;
    default: panel<4, 4>(g, M, kn, first, last); break;
  }
}

// The pack buffer: one chunk of a 64-column panel of a transposed B (kKc x 64 floats), or one
// chunk of the tail columns of B (up to 7 rows of kKc); a second part of 8 x kKc floats holds
// the tail columns while the first part holds a panel.
float* pack_buffer() {
  static thread_local std::unique_ptr<float[]> buf;
  if (!buf) buf.reset(new float[kKc * 72]);
  return buf.get();
}

// Copies t columns of kn rows of B (rows ldb apart) into t rows of pack, kKc apart.
inline void pack_tail(const float* b, int64_t ldb, int64_t kn, int64_t t, float* pack) {
  for (int64_t k = 0; k < kn; ++k)
    for (int64_t j = 0; j < t; ++j) pack[j * kKc + k] = b[k * ldb + j];
}

// Packs a transposed B: w (<= 64) rows of kn (rows ldb apart) as kn rows of 64, a vector of 16
// by one gather where 15 * ldb fits an int.
TF_AVX512 void pack_transposed(const float* b, int64_t ldb, int64_t kn, int64_t w, float* pack) {
  if (ldb >= (int64_t(1) << 26)) {
    for (int64_t k = 0; k < kn; ++k)
      for (int64_t jj = 0; jj < w; ++jj) pack[k * 64 + jj] = b[jj * ldb + k];
    return;
  }
  const __m512i at = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                        _mm512_set1_epi32(int(ldb)));
  for (int64_t v = 0; v * 16 < w; ++v) {
    const int64_t left = w - 16 * v;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
    const float* col = b + 16 * v * ldb;
    for (int64_t k = 0; k < kn; ++k)
      _mm512_storeu_ps(pack + k * 64 + 16 * v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, at, col + k, 4));
  }
}

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

// Columns [n0, n0 + T) of C. g.C, g.B are not offset to the tail; B stored N x K when trans_b.
// `packed`: the tail columns of a B stored K x N (K <= kKc) are in pack already.
template <int T>
TF_AVX512 void tail(const Args& g, bool trans_b, int64_t M, int64_t K, int64_t n0, float* pack, bool packed) {
  Args p = g;
  p.C += n0;
  if (p.bias) p.bias += n0;
  if (g.sai == 1) {  // A stored K x M
    if (trans_b) tail_cols<T>(p, M, K, g.B + n0 * g.ldb, 1, g.ldb);
    else tail_cols<T>(p, M, K, g.B + n0, g.ldb, 1);
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += kKc) {
    int64_t kn = K - k0 < kKc ? K - k0 : kKc;
    p.A = g.A + k0;
    if (trans_b) {
      tail_dots<T>(p, M, kn, g.B + n0 * g.ldb + k0, g.ldb, k0 == 0);
    } else {  // pack the tail columns of this chunk as T rows of kn
      if (!packed) pack_tail(g.B + k0 * g.ldb + n0, g.ldb, kn, T, pack);
      tail_dots<T>(p, M, kn, pack, kKc, k0 == 0);
    }
  }
}

void run_tail(const Args& g, bool trans_b, int64_t M, int64_t K, int64_t n0, int64_t t, float* pack,
              bool packed = false) {
  switch (t) {
    case 1: tail<1>(g, trans_b, M, K, n0, pack, packed); break;
    case 2: tail<2>(g, trans_b, M, K, n0, pack, packed); break;
    case 3: tail<3>(g, trans_b, M, K, n0, pack, packed); break;
    case 4: tail<4>(g, trans_b, M, K, n0, pack, packed); break;
    case 5: tail<5>(g, trans_b, M, K, n0, pack, packed); break;
    case 6: tail<6>(g, trans_b, M, K, n0, pack, packed); break;
    default: tail<7>(g, trans_b, M, K, n0, pack, packed); break;
  }
}

}  // namespace gemm_small_detail

bool gemm_small_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                    int64_t ldc, const float* bias) {
  using namespace gemm_small_detail;
  // Both operands transposed: OpenBLAS's packing does that case better.
  const VecIsa isa = vec_math_isa();
  if (isa == VecIsa::Scalar || M < 2 || N < 2 || K < 1 || (trans_a && trans_b)) return false;
  if (double(M) * double(N) * double(K) > kSmallGemmWork) return false;
  if (isa == VecIsa::Avx2)  // the AVX2+FMA kernel (gemm_small_avx2.cpp)
    return gemm_small_f32_avx2(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias);
  // The data set's next batch, if one is queued: a line per 1024 multiply-adds of this product.
  PrefetchScope pf(int64_t(double(M) * double(N) * double(K) / 1024.0));
  Args g{A, trans_a ? 1 : lda, trans_a ? lda : 1, B, ldb, C, ldc, alpha, bias ? 0.0f : beta, bias, pf.get()};
  float* pack = pack_buffer();
  // A few columns past the last whole vector (a 784x50 layer: 48 + 2) would waste most of a
  // masked vector on every FMA; they take a kernel of their own.
  const int64_t t = N > 16 && N % 16 < 8 ? N % 16 : 0, Nm = N - t;
  if (t > 0 && Nm <= 64 && K <= kKc) {
    // One panel and one chunk (a small MLP's layers): walk C in blocks of rows, each block's
    // whole vectors and then its tail, so that the tail finds the block's part of A in L1 (a
    // block of 128 columns of A stored K x M; 8 rows of A stored M x K).
    Args p = g;
    float* tail_pack = pack + kKc * 64;
    if (trans_b) {
      pack_transposed(B, ldb, K, Nm, pack);
      p.B = pack;
      p.ldb = 64;
    } else if (!trans_a) {
      pack_tail(B + Nm, ldb, K, t, tail_pack);
    }
    const int64_t rb = trans_a ? 128 : 8;
    for (int64_t i = 0; i < M; i += rb) {
      const int64_t mb = M - i < rb ? M - i : rb;
      Args q = p, r = g;
      q.A += i * g.sai;
      q.C += i * ldc;
      r.A = q.A;
      r.C = q.C;
      run_panel(q, mb, Nm, K, true);
      run_tail(r, trans_b, mb, K, Nm, t, tail_pack, !trans_b && !trans_a);
    }
    return true;
  }
  if (t > 0) run_tail(g, trans_b, M, K, Nm, t, pack);
  for (int64_t j = 0; j < Nm; j += 64) {
    int64_t w = Nm - j < 64 ? Nm - j : 64;
    Args p = g;
    p.C += j;
    if (p.bias) p.bias += j;
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      int64_t kn = K - k0 < kKc ? K - k0 : kKc;
      p.A = A + k0 * g.sak;
      if (trans_b) {  // B stored N x K: pack rows j..j+w, columns k0..k0+kn as a kn x 64 block
        pack_transposed(B + j * ldb + k0, ldb, kn, w, pack);
        p.B = pack;
        p.ldb = 64;
      } else {
        p.B = B + k0 * ldb + j;
      }
      run_panel(p, M, w, kn, k0 == 0);
    }
  }
  return true;
}

}  // namespace tapeflow::backend::cpu
#else
namespace tapeflow::backend::cpu {
bool gemm_small_f32(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                    int64_t, float, float*, int64_t, const float*) {
  return false;
}
}  // namespace tapeflow::backend::cpu
#endif
