// The per-ISA kernels behind vec_math.h's dispatch table (vec_math.cpp): one namespace per
// instruction set, each compiled with __attribute__((target(...))) in its own file
// (vec_math_avx2.cpp, vec_math_avx512.cpp), never with -march, so the library runs on any
// x86-64 and picks the widest set the CPU has at run time. Internal header.
#pragma once
#include <cstdint>

namespace tapeflow::backend::cpu {

// A float32 polynomial constant set shared by every ISA (the scalar fallback included), so that
// all paths compute the same numbers: see vec_math.cpp for the reduction and the fit.
namespace vec_const {
constexpr float kExpHi = 88.8f, kExpLo = -104.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kE0 = 4.9999993414e-01f, kE1 = 1.6666520159e-01f, kE2 = 4.1668394316e-02f,
                kE3 = 8.3687743102e-03f, kE4 = 1.3814426778e-03f;
}  // namespace vec_const

#if defined(__x86_64__)
#define TF_VEC_X86 1
// Each set: exp / tanh / sigmoid maps, softmax's exp-shift-sum, the float sum in 16 double
// lanes (vec_sum_f32's order), max / min of a run (NaN-propagating), and the column kernels
// acc[c] = op(acc[c], row_i[c]) over n rows at a stride, rows in order (see vec_math.h).
#define TF_VEC_DECLARE_ISA(ns)                                                               \
  namespace ns {                                                                             \
  void exp(const float* x, float* y, int64_t n);                                            \
  void tanh(const float* x, float* y, int64_t n);                                           \
  void sigmoid(const float* x, float* y, int64_t n);                                        \
  double exp_shift_sum(const float* x, float* y, int64_t n, float shift);                   \
  double sum(const float* x, int64_t n);                                                    \
  float max(const float* x, int64_t n);                                                     \
  float min(const float* x, int64_t n);                                                     \
  void col_sum(const float* x, int64_t n, int64_t stride, int64_t w, double* acc);          \
  void col_max(const float* x, int64_t n, int64_t stride, int64_t w, float* acc);           \
  void col_min(const float* x, int64_t n, int64_t stride, int64_t w, float* acc);           \
  }
TF_VEC_DECLARE_ISA(avx2)
TF_VEC_DECLARE_ISA(avx512)
#undef TF_VEC_DECLARE_ISA
#endif

// The 16-lane fold shared by every sum kernel: lane[j] += x[i + j] for the tail i < n (< 16
// elements), then the lanes fold pairwise, 8 apart, then 4, 2, 1.
inline double vec_fold_lanes(double* lane, const float* x, int64_t i, int64_t n) {
  for (int j = 0; i < n; ++i, ++j) lane[j] += double(x[i]);
  for (int w = 8; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) lane[j] = lane[j] + lane[j + w];
  return lane[0];
}

}  // namespace tapeflow::backend::cpu
