// The reduction functors of the CPU backend: for each ReduceOp and input type, the accumulator
// type (double for float sums/products, int64 for integer ones), its identity, how one element
// is folded in, how two partial results combine, and the final conversion to the output type.
// reduce_run folds one strided run with 16 independent lanes (vectorisable, and a pairwise-like
// error for sums). Internal header (not part of the public API); uses GCC vector extensions.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "backends/backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/vec_math.h"
#include "backends/functors.h"

namespace tapeflow::backend::cpu {

template <ReduceOp op, class T>
struct Red {
  static constexpr ReduceOp kOp = op;
  static constexpr bool kBoolOut = op == ReduceOp::All || op == ReduceOp::Any;
  static constexpr bool kArith = op == ReduceOp::Sum || op == ReduceOp::Prod;
  using Out = std::conditional_t<kBoolOut, bool, T>;
  using Wide = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  using Acc = std::conditional_t<kBoolOut, bool, std::conditional_t<kArith, Wide, T>>;

  static Acc init() {
    if constexpr (op == ReduceOp::Sum) return Acc(0);
    else if constexpr (op == ReduceOp::Prod) return Acc(1);
    else if constexpr (op == ReduceOp::All) return true;
    else if constexpr (op == ReduceOp::Any) return false;
    else if constexpr (std::is_floating_point_v<T>)
      return op == ReduceOp::Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else return op == ReduceOp::Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  // NaN is sticky for Max/Min: a NaN accumulator never compares greater/less, and a NaN
  // element replaces the accumulator.
  static Acc combine(Acc a, Acc v) {
    if constexpr (op == ReduceOp::Sum) return wrap_add(a, v);  // integers wrap (no UB)
    else if constexpr (op == ReduceOp::Prod) return wrap_mul(a, v);
    else if constexpr (op == ReduceOp::All) return a & v;
    else if constexpr (op == ReduceOp::Any) return a | v;
    else if constexpr (op == ReduceOp::Max) {
      // `|` rather than `||`: no branch, so the lane loop vectorises (compare, or, blend).
      if constexpr (std::is_floating_point_v<T>) return ((v > a) | (v != v)) ? v : a;
      else return v > a ? v : a;
    } else {
      if constexpr (std::is_floating_point_v<T>) return ((v < a) | (v != v)) ? v : a;
      else return v < a ? v : a;
    }
  }
  static Acc step(Acc a, T v) {
    if constexpr (kBoolOut) return combine(a, v != T(0));
    else return combine(a, Acc(v));
  }
  static Out finish(Acc a) { return convert<Out>(a); }
};

// Max/Min of a contiguous run with NaN propagation (float64; float32 runs take vec_max_f32 /
// vec_min_f32, the same result with AVX2 / AVX-512), written with GCC vector extensions
// of 16 bytes (SSE2, the x86-64 baseline): g++ does not vectorise the NaN-aware select of the
// generic lane loop. Four vector lanes, a separate NaN mask, the lanes folded at the end.
template <class T> struct Vec16;
template <> struct Vec16<float> { typedef float type __attribute__((vector_size(16))); };
template <> struct Vec16<double> { typedef double type __attribute__((vector_size(16))); };

template <bool kMax, class T>
T float_minmax_run(const T* x, int64_t n) {
  using V = typename Vec16<T>::type;
  using M = decltype(V{} != V{});
  constexpr int W = int(16 / sizeof(T)), K = 4;
  const T init = kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  V acc[K];
  M nan[K];
  for (int k = 0; k < K; ++k) {
    for (int j = 0; j < W; ++j) acc[k][j] = init;
    nan[k] = acc[k] != acc[k];  // all false
  }
  int64_t i = 0;
  for (; i + K * W <= n; i += K * W) {
    for (int k = 0; k < K; ++k) {
      V v;
      std::memcpy(&v, x + i + k * W, sizeof(V));
      if constexpr (kMax) acc[k] = v > acc[k] ? v : acc[k];
      else acc[k] = v < acc[k] ? v : acc[k];
      nan[k] |= v != v;
    }
  }
  T m = init;
  bool any_nan = false;
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < W; ++j) {
      any_nan |= nan[k][j] != 0;
      if (kMax) m = acc[k][j] > m ? acc[k][j] : m;
      else m = acc[k][j] < m ? acc[k][j] : m;
    }
  for (; i < n; ++i) {
    any_nan |= x[i] != x[i];
    if (kMax) m = x[i] > m ? x[i] : m;
    else m = x[i] < m ? x[i] : m;
  }
  return any_nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

// Folds n elements x[0], x[stride], ... into an accumulator.
template <class R, class T>
typename R::Acc reduce_run(const T* x, int64_t n, int64_t stride) {
  using Acc = typename R::Acc;
  if constexpr (std::is_same_v<T, float> && (R::kOp == ReduceOp::Max || R::kOp == ReduceOp::Min)) {
    if (stride == 1 && n > 0) return R::kOp == ReduceOp::Max ? vec_max_f32(x, n) : vec_min_f32(x, n);
  } else if constexpr (std::is_floating_point_v<T> && (R::kOp == ReduceOp::Max || R::kOp == ReduceOp::Min)) {
    if (stride == 1) return float_minmax_run<R::kOp == ReduceOp::Max>(x, n);
  }
  if constexpr (std::is_same_v<T, float> && R::kOp == ReduceOp::Sum) {
    if (stride == 1) return vec_sum_f32(x, n);  // the loop below, with AVX2 where there is one
  }
  if (stride != 1) {
    Acc acc = R::init();
    for (int64_t i = 0; i < n; ++i) acc = R::step(acc, x[i * stride]);
    return acc;
  }
  constexpr int L = 16;
  Acc lane[L];
  for (int j = 0; j < L; ++j) lane[j] = R::init();
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) lane[j] = R::step(lane[j], x[i + j]);
  for (int j = 0; j < L && i < n; ++i, ++j) lane[j] = R::step(lane[j], x[i]);  // tail < L
  for (int w = L / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) lane[j] = R::combine(lane[j], lane[j + w]);
  return lane[0];
}

}  // namespace tapeflow::backend::cpu
