// The reduction functors of the CPU backend: for each ReduceOp and input type, the accumulator
// type (double for float sums/products, int64 for integer ones), its identity, how one element
// is folded in, how two partial results combine, and the final conversion to the output type.
// reduce_run folds one strided run with 16 independent lanes (vectorisable, and a pairwise-like
// error for sums). Internal header (not part of the public API).
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/backend.h"
#include "backends/cpu/loops.h"

namespace tapeflow::backend::cpu {

template <ReduceOp op, class T>
struct Red {
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
    if constexpr (op == ReduceOp::Sum) return a + v;
    else if constexpr (op == ReduceOp::Prod) return a * v;
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

// Folds n elements x[0], x[stride], ... into an accumulator.
template <class R, class T>
typename R::Acc reduce_run(const T* x, int64_t n, int64_t stride) {
  using Acc = typename R::Acc;
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
  for (int j = 0; i < n; ++i, ++j) lane[j] = R::step(lane[j], x[i]);
  for (int w = L / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) lane[j] = R::combine(lane[j], lane[j + w]);
  return lane[0];
}

}  // namespace tapeflow::backend::cpu
