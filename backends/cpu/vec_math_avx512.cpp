// The AVX-512 kernels of vec_math.h (16 float lanes; F, DQ, VL, BW), compiled with a target
// attribute and picked at run time (vec_math.cpp). The same operations in the same order as
// the AVX2 and scalar versions, so every path gives the same bits: exp scales by 2^n with
// vscalefps (one rounding, right for subnormal results and overflow, as the two-step scaling
// of the other paths), tails go through masked loads and stores.
#include <limits>

#include "backends/cpu/vec_math_isa.h"

#if defined(TF_VEC_X86)
// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized on its own _mm512_undefined_* inside
// max / min and the masked conversions (a known false positive of that header).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tapeflow::backend::cpu::avx512 {
namespace {
using namespace vec_const;
#define TF_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

// x = fx*ln2 + r, fx = round(x*log2 e); returns P(r), exp(r) = 1 + r + r^2 P(r) (vec_math.cpp).
TF_AVX512 inline __m512 exp_reduce(__m512 x, __m512& fx, __m512& r) {
  fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kE4);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE1));
  return _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE0));
}
TF_AVX512 inline __m512 exp16(__m512 x) {
  // max/min return their second operand when either is NaN: NaN passes through the clamp.
  x = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
  __m512 fx, r;
  __m512 p = exp_reduce(x, fx, r);
  __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(y, fx);  // y * 2^fx, fx integral
}
// expm1(y) for y in [-18, 0]: 2^n * (r + r^2 Q(r)) + (2^n - 1) (2^n is normal there).
TF_AVX512 inline __m512 expm1_neg16(__m512 y) {
  __m512 fx, r;
  __m512 p = exp_reduce(y, fx, r);
  __m512 q = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  __m512 s = _mm512_scalef_ps(_mm512_set1_ps(1.0f), fx);
  return _mm512_fmadd_ps(s, q, _mm512_sub_ps(s, _mm512_set1_ps(1.0f)));
}
// tanh(x) = sign(x) |m / (2 + m)| with m = expm1(-2 min(|x|, 9)).
TF_AVX512 inline __m512 tanh16(__m512 x) {
  __m512 ax = _mm512_min_ps(_mm512_set1_ps(9.0f), _mm512_abs_ps(x));
  __m512 m = expm1_neg16(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)));
  __m512 t = _mm512_div_ps(m, _mm512_add_ps(m, _mm512_set1_ps(2.0f)));  // = -tanh(|x|)
  // bit select (0xCA: a ? b : c): the sign bit from x, the rest from t (t <= 0: |t|)
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_set1_epi32(int(0x80000000u)), _mm512_castps_si512(x),
                                                       _mm512_castps_si512(t), 0xCA));
}
TF_AVX512 inline __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 e = exp16(_mm512_or_ps(x, _mm512_set1_ps(-0.0f)));  // exp(-|x|)
  __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_div_ps(_mm512_mask_blend_ps(neg, one, e), _mm512_add_ps(one, e));
}

template <__m512 (*F)(__m512)>
TF_AVX512 void map16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {  // two independent chains per iteration (latency hiding)
    __m512 a = F(_mm512_loadu_ps(x + i)), b = F(_mm512_loadu_ps(x + i + 16));
    _mm512_storeu_ps(y + i, a);
    _mm512_storeu_ps(y + i + 16, b);
  }
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

TF_AVX512 inline __mmask16 take_mask(bool max, __m512 a, __m512 v) {  // v > a (v < a) or v NaN
  return (max ? _mm512_cmp_ps_mask(v, a, _CMP_GT_OQ) : _mm512_cmp_ps_mask(v, a, _CMP_LT_OQ)) |
         _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

template <bool kMax>
TF_AVX512 float minmax_run(const float* x, int64_t n) {
  const float init = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  __m512 acc[4];
  for (auto& a : acc) a = _mm512_set1_ps(init);
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; ++k) {
      _mm_prefetch(reinterpret_cast<const char*>(x + i + 16 * k + 4096), _MM_HINT_T0);
      __m512 v = _mm512_loadu_ps(x + i + 16 * k);
      acc[k] = kMax ? _mm512_max_ps(v, acc[k]) : _mm512_min_ps(v, acc[k]);  // v > acc ? v : acc
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
  }
  // Fold the registers, then the 16 lanes (NaN-free here: NaN is tracked apart).
  __m512 v4 = kMax ? _mm512_max_ps(_mm512_max_ps(acc[0], acc[1]), _mm512_max_ps(acc[2], acc[3]))
                   : _mm512_min_ps(_mm512_min_ps(acc[0], acc[1]), _mm512_min_ps(acc[2], acc[3]));
  float lane[16], m = init;
  _mm512_storeu_ps(lane, v4);
  for (float v : lane) m = kMax ? (v > m ? v : m) : (v < m ? v : m);
  bool any_nan = nan != 0;
  for (; i < n; ++i) {
    any_nan |= x[i] != x[i];
    m = kMax ? (x[i] > m ? x[i] : m) : (x[i] < m ? x[i] : m);
  }
  return any_nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// Column kernels: rows eight at a time per strip of 16 columns (accumulators in registers across
// the eight rows), each column still folded row after row; only the last strip is masked (masked
// stores do not forward to the next loads).
template <bool kMax>
TF_AVX512 inline void minmax_strip(const float* r, int64_t stride, int rows, float* acc, __mmask16 m) {
  __m512 a = m == 0xffff ? _mm512_loadu_ps(acc) : _mm512_maskz_loadu_ps(m, acc);
  for (int k = 0; k < rows; ++k) {
    __m512 v = m == 0xffff ? _mm512_loadu_ps(r + k * stride) : _mm512_maskz_loadu_ps(m, r + k * stride);
    a = _mm512_mask_blend_ps(take_mask(kMax, a, v), a, v);
  }
  if (m == 0xffff) _mm512_storeu_ps(acc, a);
  else _mm512_mask_storeu_ps(acc, m, a);
}
template <bool kMax, int kRows>
TF_AVX512 inline void col_minmax_rows(const float* r, int64_t stride, int64_t w, float* acc) {
  int64_t c = 0;
  for (; c + 16 <= w; c += 16) minmax_strip<kMax>(r + c, stride, kRows, acc + c, 0xffff);
  if (c < w) minmax_strip<kMax>(r + c, stride, kRows, acc + c, __mmask16((1u << (w - c)) - 1));
}
template <bool kMax>
TF_AVX512 void col_minmax(const float* x, int64_t n, int64_t stride, int64_t w, float* acc) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) col_minmax_rows<kMax, 8>(x + i * stride, stride, w, acc);
  for (; i < n; ++i) col_minmax_rows<kMax, 1>(x + i * stride, stride, w, acc);
}

}  // namespace

TF_AVX512 void exp(const float* x, float* y, int64_t n) { map16<exp16>(x, y, n); }
TF_AVX512 void tanh(const float* x, float* y, int64_t n) { map16<tanh16>(x, y, n); }
TF_AVX512 void sigmoid(const float* x, float* y, int64_t n) { map16<sigmoid16>(x, y, n); }
// Softmax's exp-and-sum keeps the AVX2 kernel: its 4-lane double sum fixes the bits of softmax.
double exp_shift_sum(const float* x, float* y, int64_t n, float shift) { return avx2::exp_shift_sum(x, y, n, shift); }

// 16 double lanes in two registers (vec_sum_f32's order); a software prefetch 16 KiB ahead
// and four cache lines per iteration keep enough misses in flight for the conversions not to
// starve the memory stream (the conversions fill the out-of-order window otherwise).
TF_AVX512 double sum(const float* x, int64_t n) {
  __m512d a0 = _mm512_setzero_pd(), a1 = a0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; ++k) _mm_prefetch(reinterpret_cast<const char*>(x + i + 4096 + 16 * k), _MM_HINT_T0);
    for (int k = 0; k < 4; ++k) {
      a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 16 * k)));
      a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 16 * k + 8)));
    }
  }
  for (; i + 16 <= n; i += 16) {
    a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
    a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)));
  }
  double lane[16];
  _mm512_storeu_pd(lane, a0);
  _mm512_storeu_pd(lane + 8, a1);
  return vec_fold_lanes(lane, x, i, n);
}
TF_AVX512 float max(const float* x, int64_t n) { return minmax_run<true>(x, n); }
TF_AVX512 float min(const float* x, int64_t n) { return minmax_run<false>(x, n); }

template <int kRows>
TF_AVX512 inline void col_sum_rows(const float* r, int64_t stride, int64_t w, double* acc) {
  int64_t c = 0;
  for (; c + 16 <= w; c += 16) {
    __m512d a = _mm512_loadu_pd(acc + c), b = _mm512_loadu_pd(acc + c + 8);
    for (int k = 0; k < kRows; ++k) {
      a = _mm512_add_pd(a, _mm512_cvtps_pd(_mm256_loadu_ps(r + k * stride + c)));
      b = _mm512_add_pd(b, _mm512_cvtps_pd(_mm256_loadu_ps(r + k * stride + c + 8)));
    }
    _mm512_storeu_pd(acc + c, a);
    _mm512_storeu_pd(acc + c + 8, b);
  }
  for (; c < w; c += 8) {  // the last 1-15 columns, 8 at a time, masked
    __mmask8 m = w - c >= 8 ? __mmask8(0xff) : __mmask8((1u << (w - c)) - 1);
    __m512d a = _mm512_maskz_loadu_pd(m, acc + c);
    for (int k = 0; k < kRows; ++k) a = _mm512_add_pd(a, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, r + k * stride + c)));
    _mm512_mask_storeu_pd(acc + c, m, a);
  }
}
TF_AVX512 void col_sum(const float* x, int64_t n, int64_t stride, int64_t w, double* acc) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) col_sum_rows<8>(x + i * stride, stride, w, acc);
  for (; i < n; ++i) col_sum_rows<1>(x + i * stride, stride, w, acc);
}
TF_AVX512 void col_max(const float* x, int64_t n, int64_t s, int64_t w, float* a) { col_minmax<true>(x, n, s, w, a); }
TF_AVX512 void col_min(const float* x, int64_t n, int64_t s, int64_t w, float* a) { col_minmax<false>(x, n, s, w, a); }

}  // namespace tapeflow::backend::cpu::avx512
#endif
