// Vectorised float32 kernels for the CPU backend's contiguous loops, reductions and softmax:
// exp / tanh / sigmoid, sums, max / min and column accumulations. AVX-512 or AVX2+FMA code
// chosen at run time from cpuid (never -march), with a portable scalar fallback running the
// same polynomials. Accuracy: within a few ulp of the correctly rounded result; NaN and +-inf
// behave like the libm functions. AVX-512 and AVX2 give the same bits (same operations, same
// order); so does the scalar fallback for the sums, max / min and column folds (its exp / tanh /
// sigmoid run without FMA). tests/test_vec_math.cpp checks every set the CPU has.
// In-place use (x == y) is allowed. $TAPEFLOW_CPU_ISA=avx2 or scalar caps the set used (read
// once); vec_math_set_isa does the same from code (tests). Internal header (not public API).
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
// Max / min of x[0..n) (n >= 1): NaN if any element is NaN.
float vec_max_f32(const float* x, int64_t n);
float vec_min_f32(const float* x, int64_t n);
// For each row i < n (row i at x + i * stride) in order, and each column c < w:
// acc[c] += double(row[c]) (sum), acc[c] = max/min(acc[c], row[c]) with NaN sticky (a NaN
// element replaces acc[c], a NaN acc[c] stays): the generic reduction's steps, bit for bit.
void vec_col_sum_f32(const float* x, int64_t n, int64_t stride, int64_t w, double* acc);
void vec_col_max_f32(const float* x, int64_t n, int64_t stride, int64_t w, float* acc);
void vec_col_min_f32(const float* x, int64_t n, int64_t stride, int64_t w, float* acc);

enum class VecIsa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };
VecIsa vec_math_isa();  // the set in use
// Uses the widest set the CPU has, up to `cap`; returns the set now in use. Not thread safe
// against concurrent kernels (tests and start-up only).
VecIsa vec_math_set_isa(VecIsa cap);
const char* vec_isa_name(VecIsa isa);
bool vec_math_uses_avx2();  // AVX2 or wider (for the benchmarks' report)

}  // namespace tapeflow::backend::cpu
