// Float32 exp / tanh / sigmoid: exp reduces x = n*ln2 + r (|r| <= ln2/2), evaluates a degree-6
// minimax polynomial and scales by 2^n (in two steps near the ends of the range, so subnormal
// results and overflow to inf come out right); tanh is -m/(2 + m) with m = expm1(-2|x|) from
// the same reduction (accurate near 0, one path for every input); sigmoid is 1/(1 + e) or
// e/(1 + e) with e = exp(-|x|). Max errors: exp 1.3 ulp, tanh 2.5 ulp, sigmoid 2.4 ulp.
// This file: the scalar fallback (the same steps) and the dispatch table; the AVX2+FMA and
// AVX-512 kernels live in vec_math_avx2.cpp / vec_math_avx512.cpp, picked once from cpuid.
#include "backends/cpu/vec_math.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "backends/cpu/vec_math_isa.h"

namespace tapeflow::backend::cpu {
namespace {
using namespace vec_const;

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
float tanh1(float x) {  // the same steps as the vector tanh (expm1 of -2|x|)
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
// generic reduction loop (reduce_ops.h), so the vector versions give the same bits.
double sum_scalar(const float* x, int64_t n) {
  double lane[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) lane[j] += double(x[i + j]);
  return vec_fold_lanes(lane, x, i, n);
}
template <bool kMax>
float minmax_scalar(const float* x, int64_t n) {
  float m = x[0];
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    nan |= x[i] != x[i];
    m = kMax ? (x[i] > m ? x[i] : m) : (x[i] < m ? x[i] : m);
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}
float max_scalar(const float* x, int64_t n) { return minmax_scalar<true>(x, n); }
float min_scalar(const float* x, int64_t n) { return minmax_scalar<false>(x, n); }
void col_sum_scalar(const float* x, int64_t n, int64_t stride, int64_t w, double* acc) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < w; ++c) acc[c] += double(x[i * stride + c]);
}
template <bool kMax>
void col_minmax_scalar(const float* x, int64_t n, int64_t stride, int64_t w, float* acc) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < w; ++c) {
      float v = x[i * stride + c], a = acc[c];
      acc[c] = ((kMax ? v > a : v < a) | (v != v)) ? v : a;
    }
}
void col_max_scalar(const float* x, int64_t n, int64_t s, int64_t w, float* a) { col_minmax_scalar<true>(x, n, s, w, a); }
void col_min_scalar(const float* x, int64_t n, int64_t s, int64_t w, float* a) { col_minmax_scalar<false>(x, n, s, w, a); }

struct Table {
  VecIsa isa;
  void (*exp)(const float*, float*, int64_t), (*tanh)(const float*, float*, int64_t),
      (*sigmoid)(const float*, float*, int64_t);
  double (*exp_shift_sum)(const float*, float*, int64_t, float);
  double (*sum)(const float*, int64_t);
  float (*max)(const float*, int64_t), (*min)(const float*, int64_t);
  void (*col_sum)(const float*, int64_t, int64_t, int64_t, double*);
  void (*col_max)(const float*, int64_t, int64_t, int64_t, float*), (*col_min)(const float*, int64_t, int64_t, int64_t, float*);
};
#define TF_VEC_TABLE(isa, ns) \
  Table{isa, ns exp, ns tanh, ns sigmoid, ns exp_shift_sum, ns sum, ns max, ns min, ns col_sum, ns col_max, ns col_min}
const Table kScalar{VecIsa::Scalar, exp_scalar, tanh_scalar, sigmoid_scalar, exp_shift_sum_scalar, sum_scalar,
                    max_scalar, min_scalar, col_sum_scalar, col_max_scalar, col_min_scalar};
#if defined(TF_VEC_X86)
const Table kAvx2 = TF_VEC_TABLE(VecIsa::Avx2, avx2::);
const Table kAvx512 = TF_VEC_TABLE(VecIsa::Avx512, avx512::);
#endif
#undef TF_VEC_TABLE

VecIsa cpu_isa() {  // the widest set this CPU (and OS) supports
#if defined(TF_VEC_X86)
  __builtin_cpu_init();
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
    return VecIsa::Avx512;
  if (avx2) return VecIsa::Avx2;
#endif
  return VecIsa::Scalar;
}
const Table* table_for(VecIsa isa) {
#if defined(TF_VEC_X86)
  if (isa == VecIsa::Avx512) return &kAvx512;
  if (isa == VecIsa::Avx2) return &kAvx2;
#endif
  (void)isa;
  return &kScalar;
}
VecIsa env_cap() {
  const char* env = std::getenv("TAPEFLOW_CPU_ISA");
  if (!env) return VecIsa::Avx512;
  std::string v(env);
  return v == "scalar" ? VecIsa::Scalar : v == "avx2" ? VecIsa::Avx2 : VecIsa::Avx512;
}
VecIsa capped(VecIsa cap) { return int(cap) < int(cpu_isa()) ? cap : cpu_isa(); }

std::atomic<const Table*> g_table{nullptr};
const Table& table() {
  const Table* t = g_table.load(std::memory_order_acquire);
  if (!t) {
    t = table_for(capped(env_cap()));
    g_table.store(t, std::memory_order_release);
  }
  return *t;
}

}  // namespace

void vec_exp_f32(const float* x, float* y, int64_t n) { table().exp(x, y, n); }
void vec_tanh_f32(const float* x, float* y, int64_t n) { table().tanh(x, y, n); }
void vec_sigmoid_f32(const float* x, float* y, int64_t n) { table().sigmoid(x, y, n); }
double vec_exp_shift_sum_f32(const float* x, float* y, int64_t n, float shift) {
  return table().exp_shift_sum(x, y, n, shift);
}
double vec_sum_f32(const float* x, int64_t n) { return table().sum(x, n); }
float vec_max_f32(const float* x, int64_t n) { return table().max(x, n); }
float vec_min_f32(const float* x, int64_t n) { return table().min(x, n); }
void vec_col_sum_f32(const float* x, int64_t n, int64_t stride, int64_t w, double* acc) {
  table().col_sum(x, n, stride, w, acc);
}
void vec_col_max_f32(const float* x, int64_t n, int64_t stride, int64_t w, float* acc) {
  table().col_max(x, n, stride, w, acc);
}
void vec_col_min_f32(const float* x, int64_t n, int64_t stride, int64_t w, float* acc) {
  table().col_min(x, n, stride, w, acc);
}

VecIsa vec_math_isa() { return table().isa; }
VecIsa vec_math_set_isa(VecIsa cap) {
  const Table* t = table_for(capped(cap));
  g_table.store(t, std::memory_order_release);
  return t->isa;
}
const char* vec_isa_name(VecIsa isa) {
  return isa == VecIsa::Avx512 ? "avx512" : isa == VecIsa::Avx2 ? "avx2" : "scalar";
}
bool vec_math_uses_avx2() { return table().isa != VecIsa::Scalar; }

}  // namespace tapeflow::backend::cpu
