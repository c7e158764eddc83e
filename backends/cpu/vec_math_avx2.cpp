// The AVX2+FMA kernels of vec_math.h (8 float lanes), compiled with a target attribute and
// picked at run time (vec_math.cpp). Tails run through the vector code via a padded buffer so
// that every element of a call sees the same arithmetic as the scalar and AVX-512 versions.
#include <cstring>
#include <limits>

#include "backends/cpu/vec_math_isa.h"

#if defined(TF_VEC_X86)
#include <immintrin.h>

namespace tapeflow::backend::cpu::avx2 {
namespace {
using namespace vec_const;
#define TF_AVX2 __attribute__((target("avx2,fma")))

// The shared exp reduction: x = fx*ln2 + r with fx = round(x*log2 e) (ln2 in two parts); returns
// P(r), with exp(r) = 1 + r + r^2 P(r) on |r| <= ln2/2.
TF_AVX2 inline __m256 exp_reduce(__m256 x, __m256& fx, __m256& r) {
  fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kE4);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE1));
  return _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE0));
}

TF_AVX2 inline __m256 exp8(__m256 x) {
  // max/min return their second operand when either is NaN: NaN passes through the clamp.
  x = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
  __m256 fx, r;
  __m256 p = exp_reduce(x, fx, r);
  __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i n = _mm256_cvtps_epi32(fx);
  __m256i bias = _mm256_set1_epi32(127);
  // One scale by 2^n when every lane has a normal 2^n (the common case); two steps otherwise,
  // so that subnormal results and overflow to inf come out right.
  __m256 in_range = _mm256_and_ps(_mm256_cmp_ps(fx, _mm256_set1_ps(-126.0f), _CMP_GE_OQ),
                                  _mm256_cmp_ps(fx, _mm256_set1_ps(127.0f), _CMP_LE_OQ));
  if (_mm256_movemask_ps(in_range) == 0xff)
    return _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, bias), 23)));
  __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}
// expm1(y) for y in [-18, 0]: the exp reduction y = n*ln2 + r, then 2^n * (r + r^2 Q(r)) +
// (2^n - 1), which keeps full relative accuracy near 0 (n = 0 gives r + r^2 Q(r) exactly).
TF_AVX2 inline __m256 expm1_neg8(__m256 y) {
  __m256 fx, r;
  __m256 p = exp_reduce(y, fx, r);
  __m256 q = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);  // exp(r) - 1
  __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23));
  return _mm256_fmadd_ps(s, q, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
}
// tanh(|x|) = -m / (2 + m) with m = expm1(-2|x|), |x| clamped at 9 (tanh rounds to 1 there; the
// min keeps NaN), then x's sign. One path for every lane: no blend of two approximations.
TF_AVX2 inline __m256 tanh8(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 ax = _mm256_min_ps(_mm256_set1_ps(9.0f), _mm256_andnot_ps(sign, x));
  __m256 m = expm1_neg8(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
  __m256 t = _mm256_div_ps(m, _mm256_add_ps(m, _mm256_set1_ps(2.0f)));  // = -tanh(|x|)
  return _mm256_or_ps(_mm256_andnot_ps(sign, t), _mm256_and_ps(sign, x));  // |t| with x's sign
}
TF_AVX2 inline __m256 sigmoid8(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  __m256 e = exp8(_mm256_or_ps(x, sign));  // exp(-|x|)
  __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_div_ps(_mm256_blendv_ps(one, e, neg), _mm256_add_ps(one, e));
}

template <__m256 (*F)(__m256)>
TF_AVX2 void map_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {  // two independent chains per iteration (latency hiding)
    __m256 a = F(_mm256_loadu_ps(x + i)), b = F(_mm256_loadu_ps(x + i + 8));
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float buf[8] = {};
    std::memcpy(buf, x + i, size_t(n - i) * 4);
    _mm256_storeu_ps(buf, F(_mm256_loadu_ps(buf)));
    std::memcpy(y + i, buf, size_t(n - i) * 4);
  }
}

TF_AVX2 inline __m256d sum_halves(__m256d acc, __m256 v) {
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// NaN-aware max/min step: v replaces a where v is greater (less) or NaN.
template <bool kMax>
TF_AVX2 inline __m256 step_minmax(__m256 a, __m256 v) {
  __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, a, kMax ? _CMP_GT_OQ : _CMP_LT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  return _mm256_blendv_ps(a, v, take);
}

template <bool kMax>
TF_AVX2 float minmax_run(const float* x, int64_t n) {
  const float init = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  __m256 acc[4], nan = _mm256_setzero_ps();
  for (auto& a : acc) a = _mm256_set1_ps(init);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(x + i + 2048), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(x + i + 2064), _MM_HINT_T0);
    for (int k = 0; k < 4; ++k) {
      __m256 v = _mm256_loadu_ps(x + i + 8 * k);
      acc[k] = kMax ? _mm256_max_ps(v, acc[k]) : _mm256_min_ps(v, acc[k]);  // v > acc ? v : acc
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
  }
  // Fold the registers, then the 8 lanes (NaN-free here: NaN is tracked apart).
  __m256 v4 = kMax ? _mm256_max_ps(_mm256_max_ps(acc[0], acc[1]), _mm256_max_ps(acc[2], acc[3]))
                   : _mm256_min_ps(_mm256_min_ps(acc[0], acc[1]), _mm256_min_ps(acc[2], acc[3]));
  float lane[8], m = init;
  _mm256_storeu_ps(lane, v4);
  for (float v : lane) m = kMax ? (v > m ? v : m) : (v < m ? v : m);
  bool any_nan = _mm256_movemask_ps(nan) != 0;
  for (; i < n; ++i) {
    any_nan |= x[i] != x[i];
    m = kMax ? (x[i] > m ? x[i] : m) : (x[i] < m ? x[i] : m);
  }
  return any_nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// Column kernels: rows eight at a time per strip of columns (the accumulators stay in registers
// across the eight), each column still folded row after row.
template <bool kMax, int kRows>
TF_AVX2 inline void col_minmax_rows(const float* r, int64_t stride, int64_t w, float* acc) {
  int64_t c = 0;
  for (; c + 8 <= w; c += 8) {
    __m256 a = _mm256_loadu_ps(acc + c);
    for (int k = 0; k < kRows; ++k) a = step_minmax<kMax>(a, _mm256_loadu_ps(r + k * stride + c));
    _mm256_storeu_ps(acc + c, a);
  }
  for (; c < w; ++c)
    for (int k = 0; k < kRows; ++k) {
      float v = r[k * stride + c], a = acc[c];
      acc[c] = ((kMax ? v > a : v < a) | (v != v)) ? v : a;
    }
}
template <bool kMax>
TF_AVX2 void col_minmax(const float* x, int64_t n, int64_t stride, int64_t w, float* acc) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) col_minmax_rows<kMax, 8>(x + i * stride, stride, w, acc);
  for (; i < n; ++i) col_minmax_rows<kMax, 1>(x + i * stride, stride, w, acc);
}
template <int kRows>
TF_AVX2 inline void col_sum_rows(const float* r, int64_t stride, int64_t w, double* acc) {
  int64_t c = 0;
  for (; c + 8 <= w; c += 8) {
    __m256d a = _mm256_loadu_pd(acc + c), b = _mm256_loadu_pd(acc + c + 4);
    for (int k = 0; k < kRows; ++k) {
      a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(r + k * stride + c)));
      b = _mm256_add_pd(b, _mm256_cvtps_pd(_mm_loadu_ps(r + k * stride + c + 4)));
    }
    _mm256_storeu_pd(acc + c, a);
    _mm256_storeu_pd(acc + c + 4, b);
  }
  for (; c < w; ++c)
    for (int k = 0; k < kRows; ++k) acc[c] += double(r[k * stride + c]);
}

}  // namespace

TF_AVX2 void exp(const float* x, float* y, int64_t n) { map_avx2<exp8>(x, y, n); }
TF_AVX2 void tanh(const float* x, float* y, int64_t n) { map_avx2<tanh8>(x, y, n); }
TF_AVX2 void sigmoid(const float* x, float* y, int64_t n) { map_avx2<sigmoid8>(x, y, n); }

TF_AVX2 double exp_shift_sum(const float* x, float* y, int64_t n, float shift) {
  __m256 sh = _mm256_set1_ps(shift);
  __m256d acc = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
    _mm256_storeu_ps(y + i, v);
    acc = sum_halves(acc, v);
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, acc);
  double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  if (i < n) {
    float buf[8] = {};
    std::memcpy(buf, x + i, size_t(n - i) * 4);
    _mm256_storeu_ps(buf, exp8(_mm256_sub_ps(_mm256_loadu_ps(buf), sh)));
    std::memcpy(y + i, buf, size_t(n - i) * 4);
    for (int64_t j = 0; j < n - i; ++j) s += buf[j];
  }
  return s;
}

// 16 double lanes in four registers; a software prefetch 8 KiB ahead keeps enough misses in
// flight for the conversions not to starve the memory stream.
TF_AVX2 double sum(const float* x, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {  // two cache lines per iteration
    _mm_prefetch(reinterpret_cast<const char*>(x + i + 2048), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(x + i + 2064), _MM_HINT_T0);
    for (int k = 0; k < 32; k += 16) {
      a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm_loadu_ps(x + i + k)));
      a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + k + 4)));
      a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm_loadu_ps(x + i + k + 8)));
      a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm_loadu_ps(x + i + k + 12)));
    }
  }
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)));
    a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12)));
  }
  double lane[16];
  _mm256_storeu_pd(lane, a0);
  _mm256_storeu_pd(lane + 4, a1);
  _mm256_storeu_pd(lane + 8, a2);
  _mm256_storeu_pd(lane + 12, a3);
  return vec_fold_lanes(lane, x, i, n);
}
TF_AVX2 float max(const float* x, int64_t n) { return minmax_run<true>(x, n); }
TF_AVX2 float min(const float* x, int64_t n) { return minmax_run<false>(x, n); }

TF_AVX2 void col_sum(const float* x, int64_t n, int64_t stride, int64_t w, double* acc) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) col_sum_rows<8>(x + i * stride, stride, w, acc);
  for (; i < n; ++i) col_sum_rows<1>(x + i * stride, stride, w, acc);
}
TF_AVX2 void col_max(const float* x, int64_t n, int64_t s, int64_t w, float* a) { col_minmax<true>(x, n, s, w, a); }
TF_AVX2 void col_min(const float* x, int64_t n, int64_t s, int64_t w, float* a) { col_minmax<false>(x, n, s, w, a); }

}  // namespace tapeflow::backend::cpu::avx2
#endif
