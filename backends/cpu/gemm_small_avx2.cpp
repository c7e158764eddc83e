// gemm_small_f32 (gemm_small_f32.h) with AVX2+FMA, for CPUs without AVX-512: the AVX-512
// kernel's scheme (gemm_small_avx512.cpp) with 8-float vectors and 16 registers. C is computed
// in tiles of MR rows by up to kNv vectors held in registers (4 x 3: 12 sums, 3 vectors of B and
// a broadcast of A), A read in place through two strides, B in place when stored K x N or packed
// 64 columns at a time (8 x 8 transposes) when stored transposed; 1-3 columns past the last
// whole vector of a B stored K x N take kernels of their own; K is walked in chunks of kKc.
// Compiled with a target attribute, picked at run time (never -march).
#include <algorithm>
#include <memory>

#include "backends/cpu/gemm_small_f32.h"
#include "backends/cpu/gemm_small_shared.h"

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tapeflow::backend::cpu {
namespace gemm_small_avx2_detail {
#define TF_AVX2_GEMM __attribute__((target("avx2,fma")))

// Vectors of the widest tile: 3 (4 rows) measured faster than 2 (6 rows) on 64x50x784.
constexpr int kNv = 3;
constexpr int64_t kPw = 64;           // columns of a packed panel of a transposed B

using gemm_small_detail::Args;
using gemm_small_detail::kKc;
using gemm_small_detail::pack_tail;
using gemm_small_detail::put;

alignas(64) constexpr int32_t kLanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
// The mask of the first n (1..8) lanes.
TF_AVX2_GEMM inline __m256i lanes(int64_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLanes + 8 - n));
}

// Rows [0, MR) of C times kn values of k (A, B and C offset to the tile and the chunk): the
// first chunk writes alpha * sum + beta * C (or + bias), later ones add alpha * sum. Masked:
// the last vector has only the lanes of `last`.
template <int MR, int NV, bool Masked>
TF_AVX2_GEMM void tile(const Args& g, int64_t kn, bool first, __m256i last) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* a = g.A;
  const float* b = g.B;
  // Queued lines of the next batch (prefetch.h), one per 4 steps of k, as in the AVX-512 tile.
  constexpr int kPf = 128;
  const char* pf[kPf];
  const int npf = g.pf ? g.pf->take(pf, int(std::min<int64_t>({kPf, (kn + 3) / 4, (MR * NV * 8 * kn) >> 10}))) : 0;
  int ipf = 0;
  for (int64_t k0 = 0; k0 < kn; k0 += 4) {
    if (ipf < npf) __builtin_prefetch(pf[ipf++], 0, 3);
    const int64_t k1 = kn - k0 < 4 ? kn : k0 + 4;
    for (int64_t k = k0; k < k1; ++k, a += g.sak, b += g.ldb) {
      __m256 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        bv[v] = Masked && v == NV - 1 ? _mm256_maskload_ps(b + 8 * v, last) : _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m256 av = _mm256_broadcast_ss(a + r * g.sai);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
  }
  const __m256 al = _mm256_set1_ps(g.alpha), be = _mm256_set1_ps(g.beta);
  const bool read_c = !first || g.beta != 0.0f, add_bias = first && g.bias != nullptr;
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* c = g.C + r * g.ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const bool m = Masked && v == NV - 1;
      __m256 s = _mm256_mul_ps(al, acc[r][v]);
      if (read_c) {
        __m256 old = m ? _mm256_maskload_ps(c + 8 * v, last) : _mm256_loadu_ps(c + 8 * v);
        s = first ? _mm256_fmadd_ps(be, old, s) : _mm256_add_ps(old, s);
      } else if (add_bias) {
        s = _mm256_add_ps(s, m ? _mm256_maskload_ps(g.bias + 8 * v, last) : _mm256_loadu_ps(g.bias + 8 * v));
      }
      if (m) _mm256_maskstore_ps(c + 8 * v, last, s);
      else _mm256_storeu_ps(c + 8 * v, s);
    }
  }
}

// Every tile of rows of one panel (NV vectors wide) over one chunk of k.
template <int NV, int MR, bool Masked>
TF_AVX2_GEMM void panel(const Args& g, int64_t M, int64_t kn, bool first, __m256i last) {
  int64_t i = 0;
  for (; i + MR <= M; i += MR) {
    Args t = g;
    t.A += i * g.sai;
    t.C += i * g.ldc;
    tile<MR, NV, Masked>(t, kn, first, last);
  }
  if (i == M) return;
  Args t = g;
  t.A += i * g.sai;
  t.C += i * g.ldc;
  switch (M - i) {  // MR <= 8
    case 1: tile<1, NV, Masked>(t, kn, first, last); break;
    case 2: tile<2, NV, Masked>(t, kn, first, last); break;
    case 3: tile<3, NV, Masked>(t, kn, first, last); break;
    case 4: tile<4, NV, Masked>(t, kn, first, last); break;
    case 5: tile<5, NV, Masked>(t, kn, first, last); break;
    case 6: tile<6, NV, Masked>(t, kn, first, last); break;
    default: tile<7, NV, Masked>(t, kn, first, last); break;
  }
}

template <bool Masked>
TF_AVX2_GEMM void run_sub(const Args& g, int64_t M, int64_t vecs, int64_t kn, bool first, __m256i last) {
  switch (vecs) {  // <= kNv
    case 1: panel<1, 8, Masked>(g, M, kn, first, last); break;
    case 2: panel<2, 6, Masked>(g, M, kn, first, last); break;
    default: panel<kNv, kNv == 3 ? 4 : 6, Masked>(g, M, kn, first, last); break;
  }
}

// Columns [0, w) of C (w <= kPw), one chunk of k: sub-panels of up to kNv vectors, as even as
// whole vectors allow (32 columns as 2 + 2 vectors, not 3 + 1: 6 rows of 2 vectors keep more
// FMAs in flight per broadcast than 8 rows of 1).
TF_AVX2_GEMM void run_panel(const Args& g, int64_t M, int64_t w, int64_t kn, bool first) {
  const int64_t vecs = (w + 7) / 8, subs = (vecs + kNv - 1) / kNv;
  for (int64_t s = 0, j = 0; s < subs; ++s) {
    const int64_t sv = (vecs - j / 8) / (subs - s), sw = w - j < 8 * sv ? w - j : 8 * sv;
    Args p = g;
    p.B += j;
    p.C += j;
    if (p.bias) p.bias += j;
    if (sw % 8 == 0) run_sub<false>(p, M, sv, kn, first, lanes(8));
    else run_sub<true>(p, M, sv, kn, first, lanes(sw % 8));
    j += sw;
  }
}

// The pack buffer: one chunk of a 64-column panel of a transposed B (kKc x 64 floats), then
// 8 x kKc floats for the tail columns.
float* pack_buffer() {
  static thread_local std::unique_ptr<float[]> buf;
  if (!buf) buf.reset(new float[kKc * (kPw + 8)]);
  return buf.get();
}

// Packs a transposed B: w (<= 64) rows of kn (rows ldb apart) as kn rows of 64, blocks of 8 x 8
// by register transposes; lanes past w of the last vector are zero.
TF_AVX2_GEMM void pack_transposed(const float* b, int64_t ldb, int64_t kn, int64_t w, float* pack) {
  for (int64_t j = 0; j < w; j += 8) {
    const int64_t rows = w - j < 8 ? w - j : 8;
    const float* src = b + j * ldb;
    int64_t k = 0;
    for (; k + 8 <= kn; k += 8) {
      __m256 r[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) r[i] = i < rows ? _mm256_loadu_ps(src + i * ldb + k) : _mm256_setzero_ps();
      __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* d = pack + k * kPw + j;
      _mm256_storeu_ps(d + 0 * kPw, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * kPw, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * kPw, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * kPw, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * kPw, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * kPw, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * kPw, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * kPw, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; k < kn; ++k)
      for (int64_t i = 0; i < 8; ++i) pack[k * kPw + j + i] = i < rows ? src[i * ldb + k] : 0.0f;
  }
}

TF_AVX2_GEMM inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

// The last T (<= 3) columns of C when A's rows are contiguous (A stored M x K): T dot products
// of length kn per row, R rows at a time (R * T sums in registers), against the tail columns of
// B stored as T contiguous rows bt (row jj at bt + jj * ldt).
template <int T>
TF_AVX2_GEMM void tail_dots(const Args& g, int64_t M, int64_t kn, const float* bt, int64_t ldt, bool first) {
    constexpr int R = T == 1 ? 8 : T == 2 ? 6 : 4;
  const __m256i last = lanes(((kn - 1) & 7) + 1);
  for (int64_t i = 0; i < M; i += R) {
    const int rows = M - i < R ? int(M - i) : R;
    const float* ar[R];
    for (int r = 0; r < R; ++r) ar[r] = g.A + (i + (r < rows ? r : 0)) * g.sai;
    __m256 acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kn; k += 8) {
      const bool full = kn - k >= 8;
      __m256 bv[T];
#pragma GCC unroll 3
      for (int t = 0; t < T; ++t) bv[t] = full ? _mm256_loadu_ps(bt + t * ldt + k) : _mm256_maskload_ps(bt + t * ldt + k, last);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        __m256 av = full ? _mm256_loadu_ps(ar[r] + k) : _mm256_maskload_ps(ar[r] + k, last);
#pragma GCC unroll 3
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(av, bv[t], acc[r][t]);
      }
    }
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < T; ++t)
        put(g.C + (i + r) * g.ldc + t, hsum(acc[r][t]), g.alpha, g.beta, g.bias ? g.bias + t : nullptr, first);
  }
}

// The last T (<= 3) columns of C when A's columns are contiguous (A stored K x M): V vectors of
// 8 rows of C per column (the last one masked by `tail` when Masked), B's elements broadcast
// (B(k, j) = b[k * bk + j * bj]), the whole of K at once (the first chunk's rule of put).
template <int T, int V, bool Masked>
TF_AVX2_GEMM void tail_cols_block(const Args& g, int64_t i, int64_t K, const float* b, int64_t bk, int64_t bj,
                                  int64_t tail_rows) {
  const __m256i tail = lanes(tail_rows);
  __m256 acc[V][T];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 3
    for (int t = 0; t < T; ++t) acc[v][t] = _mm256_setzero_ps();
  const float* a = g.A + i;
  for (int64_t k = 0; k < K; ++k, a += g.sak) {
    __m256 av[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      av[v] = Masked && v == V - 1 ? _mm256_maskload_ps(a + 8 * v, tail) : _mm256_loadu_ps(a + 8 * v);
#pragma GCC unroll 3
    for (int t = 0; t < T; ++t) {
      __m256 bv = _mm256_broadcast_ss(b + k * bk + t * bj);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[v][t] = _mm256_fmadd_ps(av[v], bv, acc[v][t]);
    }
  }
  for (int v = 0; v < V; ++v) {
    const int64_t n = Masked && v == V - 1 ? tail_rows : 8;
    for (int t = 0; t < T; ++t) {
      alignas(32) float out[8];
      _mm256_store_ps(out, acc[v][t]);
      float* c = g.C + (i + 8 * v) * g.ldc + t;
      for (int64_t l = 0; l < n; ++l) put(c + l * g.ldc, out[l], g.alpha, g.beta, g.bias ? g.bias + t : nullptr, true);
    }
  }
}

template <int T>
TF_AVX2_GEMM void tail_cols(const Args& g, int64_t M, int64_t K, const float* b, int64_t bk, int64_t bj) {
  constexpr int V = T == 1 ? 8 : T == 2 ? 4 : 3;
  int64_t i = 0;
  for (; i + 8 * V <= M; i += 8 * V) tail_cols_block<T, V, false>(g, i, K, b, bk, bj, 8);
  if (i == M) return;
  // The last rows: as many vectors as they fill, the last one masked.
  const int64_t left = M - i, vecs = (left + 7) / 8, last = left - 8 * (vecs - 1);
  switch (vecs) {  // <= V <= 8
    case 1: return tail_cols_block<T, 1, true>(g, i, K, b, bk, bj, last);
    case 2: return tail_cols_block<T, 2, true>(g, i, K, b, bk, bj, last);
    case 3: return tail_cols_block<T, 3, true>(g, i, K, b, bk, bj, last);
    case 4: return tail_cols_block<T, 4, true>(g, i, K, b, bk, bj, last);
    case 5: return tail_cols_block<T, 5, true>(g, i, K, b, bk, bj, last);
    case 6: return tail_cols_block<T, 6, true>(g, i, K, b, bk, bj, last);
    case 7: return tail_cols_block<T, 7, true>(g, i, K, b, bk, bj, last);
    default: return tail_cols_block<T, 8, true>(g, i, K, b, bk, bj, last);
  }
}

// Columns [n0, n0 + T) of C (B stored K x N). g.C, g.B are not offset to the tail. `packed`:
// the tail columns of B (K <= kKc) are in pack already.
template <int T>
TF_AVX2_GEMM void tail(const Args& g, int64_t M, int64_t K, int64_t n0, float* pack, bool packed) {
  Args p = g;
  p.C += n0;
  if (p.bias) p.bias += n0;
  if (g.sai == 1) return gemm_small_avx2_detail::tail_cols<T>(p, M, K, g.B + n0, g.ldb, 1);  // A stored K x M
  for (int64_t k0 = 0; k0 < K; k0 += kKc) {  // pack the tail columns of a chunk as T rows of kn
    int64_t kn = K - k0 < kKc ? K - k0 : kKc;
    p.A = g.A + k0;
    if (!packed) pack_tail(g.B + k0 * g.ldb + n0, g.ldb, kn, T, pack);
    gemm_small_avx2_detail::tail_dots<T>(p, M, kn, pack, kKc, k0 == 0);
  }
}

void run_tail(const Args& g, int64_t M, int64_t K, int64_t n0, int64_t t, float* pack, bool packed = false) {
  switch (t) {
    case 1: tail<1>(g, M, K, n0, pack, packed); break;
    case 2: tail<2>(g, M, K, n0, pack, packed); break;
    default: tail<3>(g, M, K, n0, pack, packed); break;
  }
}

}  // namespace gemm_small_avx2_detail

bool gemm_small_f32_avx2(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                         int64_t ldc, const float* bias) {
  using namespace gemm_small_avx2_detail;
  // A stored K x M with rows a multiple of 4 KiB apart: the broadcasts of a tile's K steps all
  // fall in the same L1 sets, and OpenBLAS, which packs A, is 15-20% faster (1024x64x64,
  // 4096x48x16); 1000 or 1536 floats apart are not affected.
  if (trans_a && lda % 1024 == 0) return false;
  // The data set's next batch, if one is queued: a line per 1024 multiply-adds of this product.
  PrefetchScope pf(int64_t(double(M) * double(N) * double(K) / 1024.0));
  Args g{A, trans_a ? 1 : lda, trans_a ? lda : 1, B, ldb, C, ldc, alpha, bias ? 0.0f : beta, bias, pf.get()};
  float* pack = pack_buffer();
  // 1-3 columns past the last whole vector (a 784x50 layer: 48 + 2) would waste most of a
  // masked vector on every FMA; they take a kernel of their own where B is stored K x N and
  // more than two vectors (A stored M x K) or one (A stored K x M) precede them. A transposed B
  // is packed anyway, the tail columns with it (zero padded): measured faster than the dot
  // kernel (64x50x50, 64x50x10), as is one masked vector for N = 9..11 with A stored M x K
  // (64x10x50); the column kernel wins for A stored K x M (50x10x64).
  const int64_t t = !trans_b && N > (trans_a ? 8 : 16) && N % 8 <= 3 ? N % 8 : 0, Nm = N - t;
  if (t > 0 && Nm <= kPw && K <= kKc) {
    // One panel and one chunk (a small MLP's layers): walk C in blocks of rows, each block's
    // whole vectors and then its tail, so that the tail finds the block's part of A in L1.
    float* tail_pack = pack + kKc * kPw;
    if (!trans_a) pack_tail(B + Nm, ldb, K, t, tail_pack);
    const int64_t rb = trans_a ? 128 : 12;  // 12: whole tiles of 4 rows and tail blocks of 6
    for (int64_t i = 0; i < M; i += rb) {
      const int64_t mb = M - i < rb ? M - i : rb;
      Args q = g;
      q.A += i * g.sai;
      q.C += i * ldc;
      run_panel(q, mb, Nm, K, true);
      run_tail(q, mb, K, Nm, t, tail_pack, !trans_a);
    }
    return true;
  }
  if (t > 0) run_tail(g, M, K, Nm, t, pack);
  for (int64_t j = 0; j < Nm; j += kPw) {
    int64_t w = Nm - j < kPw ? Nm - j : kPw;
    Args p = g;
    p.C += j;
    if (p.bias) p.bias += j;
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      int64_t kn = K - k0 < kKc ? K - k0 : kKc;
      p.A = A + k0 * g.sak;
      if (trans_b) {  // B stored N x K: pack rows j..j+w, columns k0..k0+kn as a kn x 64 block
        pack_transposed(B + j * ldb + k0, ldb, kn, w, pack);
        p.B = pack;
        p.ldb = kPw;
      } else {
        p.B = B + k0 * ldb + j;
      }
      run_panel(p, M, w, kn, k0 == 0);
    }
  }
  return true;
}

}  // namespace tapeflow::backend::cpu
#endif
