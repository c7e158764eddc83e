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

#include "backends/cpu/gemm_small_avx512.h"
#include "backends/cpu/vec_math.h"

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tapeflow::backend::cpu {
namespace gemm_small_detail {
#define TF_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))


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
  // masked vector on every FMA; they take kernels of their own (gemm_small_tail_avx512.cpp).
  const int64_t t = N > 16 && N % 16 < 8 ? N % 16 : 0, Nm = N - t;
  float* tail_pack = pack + kKc * 64;
  // The tail of rows [i, i + m) over the chunk of k at k0 (A stored K x M: all K, at k0 == 0).
  auto tail = [&](int64_t i, int64_t m, int64_t k0, int64_t kn, bool packed) {
    Args r = g;
    r.A += i * g.sai + k0 * g.sak;
    r.C += i * ldc + Nm;
    if (r.bias) r.bias += Nm;
    if (trans_a) {
      if (k0 == 0) run_tail_cols(t, r, m, K, trans_b ? B + Nm * ldb : B + Nm, trans_b ? 1 : ldb, trans_b ? ldb : 1);
    } else if (trans_b) {
      run_tail_dots(t, r, m, kn, B + Nm * ldb + k0, ldb, k0 == 0);
    } else {
      if (!packed) pack_tail(B + k0 * ldb + Nm, ldb, kn, t, tail_pack);
      run_tail_dots(t, r, m, kn, tail_pack, kKc, k0 == 0);
    }
  };
  if (t > 0 && Nm <= 64) {
    // One panel (a small MLP's layers): for each chunk of k, walk C in blocks of rows, each
    // block's whole vectors and then its tail, so that the tail finds the block's part of A in
    // L1 (128 columns of A stored K x M; 8 rows of A stored M x K).
    const int64_t rb = trans_a ? 128 : 8;
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kn = K - k0 < kKc ? K - k0 : kKc;
      Args p = g;
      p.A = A + k0 * g.sak;
      if (trans_b) {
        pack_transposed(B + k0, ldb, kn, Nm, pack);
        p.B = pack;
        p.ldb = 64;
      } else {
        p.B = B + k0 * ldb;
        if (!trans_a) pack_tail(B + k0 * ldb + Nm, ldb, kn, t, tail_pack);
      }
      for (int64_t i = 0; i < M; i += rb) {
        const int64_t mb = M - i < rb ? M - i : rb;
        Args q = p;
        q.A += i * g.sai;
        q.C += i * ldc;
        run_panel(q, mb, Nm, kn, k0 == 0);
        tail(i, mb, k0, kn, true);
      }
    }
    return true;
  }
  for (int64_t k0 = 0; t > 0 && k0 < K; k0 += kKc) tail(0, M, k0, K - k0 < kKc ? K - k0 : kKc, false);
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
