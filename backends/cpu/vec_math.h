// Vectorised float32 exp / tanh / sigmoid for the CPU backend's contiguous loops (and softmax).
// AVX2+FMA code chosen at run time from cpuid (never -march), with a portable scalar fallback
// running the same polynomials. Accuracy: within a few ulp of the correctly rounded result;
// NaN and +-inf behave like the libm functions. In-place use (x == y) is allowed.
// Internal header (not part of the public API).
#pragma once
#include <cstdint>

namespace tapeflow::backend::cpu {

void vec_exp_f32(const float* x, float* y, int64_t n);
void vec_tanh_f32(const float* x, float* y, int64_t n);
void vec_sigmoid_f32(const float* x, float* y, int64_t n);
// y[i] = exp(x[i] - shift); returns the sum of the y[i] in double (softmax rows).
double vec_exp_shift_sum_f32(const float* x, float* y, int64_t n, float shift);
// The sum of x[0..n) in double, bit for bit the generic reduction's order (reduce_ops.h).
double vec_sum_f32(const float* x, int64_t n);

bool vec_math_uses_avx2();  // for the benchmarks' report

}  // namespace tapeflow::backend::cpu
