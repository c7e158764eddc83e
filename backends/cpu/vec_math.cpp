// Float32 exp / tanh / sigmoid: exp reduces x = n*ln2 + r (|r| <= ln2/2), evaluates a degree-6
// minimax polynomial and scales by 2^n (in two steps near the ends of the range, so subnormal
// results and overflow to inf come out right); tanh is -m/(2 + m) with m = expm1(-2|x|) from
// the same reduction (accurate near 0, one path for every input); sigmoid is 1/(1 + e) or
// e/(1 + e) with e = exp(-|x|). Max errors: exp 1.3 ulp, tanh 2.5 ulp, sigmoid 2.4 ulp.
// The AVX2+FMA path is picked once from cpuid; tails run through the vector code via a padded
// buffer so that every element of a call sees the same arithmetic.
#include "backends/cpu/vec_math.h"

#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define TF_HAVE_X86 1
#endif

namespace tapeflow::backend::cpu {
namespace {

constexpr float kExpHi = 88.8f, kExpLo = -104.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
// exp(r) ~ 1 + r + r^2 * (kE0 + kE1 r + kE2 r^2 + kE3 r^3 + kE4 r^4) on |r| <= ln2/2: a
// least-squares minimax fit (relative error 3e-9, far below float's 6e-8).
constexpr float kE0 = 4.9999993414e-01f, kE1 = 1.6666520159e-01f, kE2 = 4.1668394316e-02f,
                kE3 = 8.3687743102e-03f, kE4 = 1.3814426778e-03f;

// ---- scalar fallback (same polynomials) ----
float pow2i(int k) { uint32_t bits = uint32_t(k + 127) << 23; float f; std::memcpy(&f, &bits, 4); return f; }

float exp1(float x) {
  if (x != x) return x;
  x = x < kExpLo ? kExpLo : (x > kExpHi ? kExpHi : x);
  float fx = std::nearbyint(x * kLog2e);
  float r = x - fx * kLn2Hi;
  r = r - fx * kLn2Lo;
  float p = kE4;
  p = p * r + kE3; p = p * r + kE2; p = p * r + kE1; p = p * r + kE0;
  float y = p * (r * r) + r + 1.0f;
  int n = int(fx), n1 = n >> 1, n2 = n - n1;
  return y * pow2i(n1) * pow2i(n2);
}
float tanh1(float x) {  // the same steps as tanh8 / expm1_neg8
  float ax = std::fabs(x);
  ax = ax > 9.0f ? 9.0f : ax;
  float y = -2.0f * ax;
  float fx = std::nearbyint(y * kLog2e);
  float r = y - fx * kLn2Hi;
  r = r - fx * kLn2Lo;
  float p = kE4;
  p = p * r + kE3; p = p * r + kE2; p = p * r + kE1; p = p * r + kE0;
  float q = p * (r * r) + r;
  float sc = pow2i(int(fx));
  float m = sc * q + (sc - 1.0f);
  return std::copysign(std::fabs(m / (m + 2.0f)), x);
}
float sigmoid1(float x) {
  float e = exp1(-std::fabs(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

void exp_scalar(const float* x, float* y, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = exp1(x[i]); }
void tanh_scalar(const float* x, float* y, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = tanh1(x[i]); }
void sigmoid_scalar(const float* x, float* y, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = sigmoid1(x[i]); }
double exp_shift_sum_scalar(const float* x, float* y, int64_t n, float shift) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) { y[i] = exp1(x[i] - shift); s += y[i]; }
  return s;
}

// Sum of n floats in 16 double lanes (lane j takes x[i + j] for i = 0, 16, ...; the tail < 16
// goes to lanes 0, 1, ...; the lanes fold pairwise, 8 apart, then 4, 2, 1): the order of the
// generic reduction loop (reduce_ops.h), so the AVX2 version gives the same bits.
double fold_lanes(double* lane, const float* x, int64_t i, int64_t n) {
  for (int j = 0; i < n; ++i, ++j) lane[j] += double(x[i]);
  for (int w = 8; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) lane[j] = lane[j] + lane[j + w];
  return lane[0];
}
double sum_scalar(const float* x, int64_t n) {
  double lane[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) lane[j] += double(x[i + j]);
  return fold_lanes(lane, x, i, n);
}

#if defined(TF_HAVE_X86)
#define TF_AVX2 __attribute__((target("avx2,fma")))

TF_AVX2 double sum_avx2(const float* x, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
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
  return fold_lanes(lane, x, i, n);
}

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
TF_AVX2 void exp_avx2(const float* x, float* y, int64_t n) { map_avx2<exp8>(x, y, n); }
TF_AVX2 void tanh_avx2(const float* x, float* y, int64_t n) { map_avx2<tanh8>(x, y, n); }
TF_AVX2 void sigmoid_avx2(const float* x, float* y, int64_t n) { map_avx2<sigmoid8>(x, y, n); }

TF_AVX2 inline __m256d sum_halves(__m256d acc, __m256 v) {
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}
TF_AVX2 double exp_shift_sum_avx2(const float* x, float* y, int64_t n, float shift) {
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
#endif

using MapFn = void (*)(const float*, float*, int64_t);
using SumFn = double (*)(const float*, float*, int64_t, float);
using PlainSumFn = double (*)(const float*, int64_t);

struct Table {
  bool avx2 = false;
  MapFn exp = exp_scalar, tanh = tanh_scalar, sigmoid = sigmoid_scalar;
  SumFn exp_shift_sum = exp_shift_sum_scalar;
  PlainSumFn sum = sum_scalar;
  Table() {
#if defined(TF_HAVE_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      avx2 = true;
      exp = exp_avx2; tanh = tanh_avx2; sigmoid = sigmoid_avx2;
      exp_shift_sum = exp_shift_sum_avx2;
      sum = sum_avx2;
    }
#endif
  }
};
const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

void vec_exp_f32(const float* x, float* y, int64_t n) { table().exp(x, y, n); }
void vec_tanh_f32(const float* x, float* y, int64_t n) { table().tanh(x, y, n); }
void vec_sigmoid_f32(const float* x, float* y, int64_t n) { table().sigmoid(x, y, n); }
double vec_exp_shift_sum_f32(const float* x, float* y, int64_t n, float shift) {
  return table().exp_shift_sum(x, y, n, shift);
}
double vec_sum_f32(const float* x, int64_t n) { return table().sum(x, n); }
bool vec_math_uses_avx2() { return table().avx2; }

}  // namespace tapeflow::backend::cpu
