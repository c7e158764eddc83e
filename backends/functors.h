// The scalar math of every element-wise op, shared by the CPU backend (g++) and the CUDA
// backend (nvcc): CPU tests therefore cover the math the GPU runs, and the random value of each
// kind drawn from the Philox4x32-10 generator (base/philox.h) behind every random op.
// Internal header (not part of the public API): never include it from tensor/ or tapeflow.h.
#pragma once
#include <cmath>
#include <math.h>
#include <cstdint>
#include <type_traits>

#include "backends/backend.h"
#include "base/hd.h"
#include "base/philox.h"


namespace tapeflow::backend {

template <class T> TF_HD T tf_max(T a, T b) { return a > b ? a : b; }
template <class T> TF_HD T tf_min(T a, T b) { return a < b ? a : b; }

// ---- defined integer arithmetic (no UB) ----
// Signed integer add/sub/mul/neg wrap as two's complement (NumPy/PyTorch behaviour): the
// arithmetic is done in the unsigned type. Other types (float, bool, uint8) are unchanged.
template <class T> constexpr bool kWrapInt = std::is_integral_v<T> && std::is_signed_v<T>;
template <class T> TF_HD T wrap_add(T a, T b) {
  if constexpr (kWrapInt<T>) { using U = std::make_unsigned_t<T>; return T(U(U(a) + U(b))); }
  else return T(a + b);
}
template <class T> TF_HD T wrap_sub(T a, T b) {
  if constexpr (kWrapInt<T>) { using U = std::make_unsigned_t<T>; return T(U(U(a) - U(b))); }
  else return T(a - b);
}
template <class T> TF_HD T wrap_mul(T a, T b) {
  if constexpr (kWrapInt<T>) { using U = std::make_unsigned_t<T>; return T(U(U(a) * U(b))); }
  else return T(a * b);
}
template <class T> TF_HD T wrap_neg(T a) {
  if constexpr (kWrapInt<T>) { using U = std::make_unsigned_t<T>; return T(U(U(0) - U(a))); }
  else return T(-a);
}
// Integer division, defined everywhere: x / 0 is 0 and INT_MIN / -1 wraps to INT_MIN (never a
// SIGFPE); otherwise truncation toward zero as C++.
template <class T> TF_HD T int_div(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (kWrapInt<T>) { if (b == T(-1)) return wrap_neg(a); }
  return T(a / b);
}

// Floating -> integer conversion without UB: NaN -> 0; to int32/int64 saturates at the type's
// limits (+-inf included); to uint8 goes through (saturated) int64 and wraps modulo 256, as
// NumPy/PyTorch on x86 do for in-range values (-1.0 -> 255).
template <class To, class From>
TF_HD To float_to_int(From v) {
  if (v != v) return To(0);
  if constexpr (std::is_signed_v<To> && sizeof(To) >= 4) {
    constexpr double lim = sizeof(To) == 8 ? 9223372036854775808.0 : 2147483648.0;  // 2^(bits-1)
    if (v >= From(lim)) return sizeof(To) == 8 ? To(INT64_MAX) : To(INT32_MAX);
    if (v <= From(-lim)) return sizeof(To) == 8 ? To(INT64_MIN) : To(INT32_MIN);
    return To(v);
  } else {
    return To(uint64_t(float_to_int<int64_t>(v)));
  }
}
// A double parameter (clamp bounds, affine scale) as the element type T without UB.
template <class T> TF_HD T param_as(double v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else if constexpr (std::is_integral_v<T>) return float_to_int<T>(v);
  else return T(v);
}

// Round half to even (NumPy's rule).
template <class T> TF_HD T round_half_even(T x) {
  T r = ::round(x);
  if (::fabs(x - ::trunc(x)) == T(0.5)) r = T(2) * ::round(x / T(2));
  return r;
}

template <class T> TF_HD T sigmoid_of(T x) {
  // Stable for large |x|: never computes exp of a large positive number.
  if (x >= T(0)) { T z = ::exp(-x); return T(1) / (T(1) + z); }
  T z = ::exp(x);
  return z / (T(1) + z);
}

// out = f(x) for the unary op; alpha/beta are the op's scalar parameters.
template <UnaryOp op, class T>
TF_HD T unary_fn(T x, double alpha, double beta) {
  if constexpr (op == UnaryOp::Neg) return wrap_neg(x);
  else if constexpr (op == UnaryOp::Abs) { if constexpr (std::is_unsigned_v<T> || std::is_same_v<T, bool>) return x; else return x < T(0) ? wrap_neg(x) : x; }
  else if constexpr (op == UnaryOp::Sign) { if constexpr (std::is_same_v<T, bool>) return x; else return T((T(0) < x) - (x < T(0))); }
  else if constexpr (op == UnaryOp::Square) return wrap_mul(x, x);
  else if constexpr (op == UnaryOp::Relu) {  // NaN stays NaN (as PyTorch); `|`: no branch, vectorises
    if constexpr (std::is_floating_point_v<T>) return ((x > T(0)) | (x != x)) ? x : T(0);
    else return x > T(0) ? x : T(0);
  }
  else if constexpr (op == UnaryOp::Clamp) {
    if constexpr (std::is_floating_point_v<T>) {
      if (x != x) return x;
      double v = (double)x;
      v = v < alpha ? alpha : v;
      v = v > beta ? beta : v;
      return T(v);
    } else {  // compare in double, convert the bound without UB
      double v = (double)x;
      if (v < alpha) return param_as<T>(alpha);
      if (v > beta) return param_as<T>(beta);
      return x;
    }
  }
  else if constexpr (op == UnaryOp::Affine) return wrap_add(wrap_mul(x, param_as<T>(alpha)), param_as<T>(beta));
  else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (op == UnaryOp::Exp) return ::exp(x);
    else if constexpr (op == UnaryOp::Log) return ::log(x);
    else if constexpr (op == UnaryOp::Log1p) return ::log1p(x);
    else if constexpr (op == UnaryOp::Expm1) return ::expm1(x);
    else if constexpr (op == UnaryOp::Sqrt) return ::sqrt(x);
    else if constexpr (op == UnaryOp::Rsqrt) return T(1) / ::sqrt(x);
    else if constexpr (op == UnaryOp::Reciprocal) return T(1) / x;
    else if constexpr (op == UnaryOp::Sin) return ::sin(x);
    else if constexpr (op == UnaryOp::Cos) return ::cos(x);
    else if constexpr (op == UnaryOp::Tanh) return ::tanh(x);
    else if constexpr (op == UnaryOp::Sigmoid) return sigmoid_of(x);
    else if constexpr (op == UnaryOp::Floor) return ::floor(x);
    else if constexpr (op == UnaryOp::Ceil) return ::ceil(x);
    else if constexpr (op == UnaryOp::Round) return round_half_even(x);
    else if constexpr (op == UnaryOp::PowScalar) return T(::pow((double)x, alpha));
    else if constexpr (op == UnaryOp::Erf) return ::erf(x);
    else if constexpr (op == UnaryOp::Gelu) return T(0.5) * x * (T(1) + ::erf(x * T(0.7071067811865476)));
    else if constexpr (op == UnaryOp::GeluTanh)
      return T(0.5) * x * (T(1) + ::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)));
    else return x;
  } else {
    // Integer and bool inputs: floor/ceil/round are the identity; others are not asked for.
    return x;
  }
}

// Predicates with a Bool output.
template <UnaryOp op, class T>
TF_HD bool unary_pred(T x) {
  if constexpr (op == UnaryOp::LogicalNot) return !(x != T(0));
  else if constexpr (op == UnaryOp::IsNan) { if constexpr (std::is_floating_point_v<T>) return x != x; else return false; }
  else { if constexpr (std::is_floating_point_v<T>) return ::isinf(x); else return false; }
}

// The fused backward g * d op(v) / dx of the unary ops with a table derivative (v is x or y, as
// op_table.h's Grad column says). A bool derivative is a mask: g where it holds, else 0 (also
// for a non-finite g, as PyTorch's threshold_backward).
template <UnaryOp op, class T> TF_HD T unary_backward(T g, T v) {
#define TF_DERIV_CASE_NoGrad(E)
#define TF_DERIV_CASE_GradX(E)                                                      \
  if constexpr (op == UnaryOp::E) {                                                 \
    auto d = derivative::E(v);                                                      \
    if constexpr (std::is_same_v<decltype(d), bool>) return d ? g : T(0);           \
    else return T(g * T(d));                                                        \
  } else
#define TF_DERIV_CASE_GradY(E) TF_DERIV_CASE_GradX(E)
#define TF_DERIV_CASE(E, N, K, G, ...) TF_DERIV_CASE_##G(E)
  TAPEFLOW_UNARY_OPS(TF_DERIV_CASE) return T(0);
#undef TF_DERIV_CASE
}

template <class T> TF_HD T int_pow(T base, T e) {
  if (e < T(0)) return base == T(1) ? T(1) : T(0);
  T r = T(1);
  while (e) { if (e & T(1)) r = wrap_mul(r, base); base = wrap_mul(base, base); e = T(e >> 1); }
  return r;
}

// Arithmetic binary ops (same dtype out).
template <BinaryOp op, class T>
TF_HD T binary_fn(T a, T b) {
  if constexpr (op == BinaryOp::Add) { if constexpr (std::is_same_v<T, bool>) return a || b; else return wrap_add(a, b); }
  else if constexpr (op == BinaryOp::Sub) { if constexpr (std::is_same_v<T, bool>) return a != b; else return wrap_sub(a, b); }
  else if constexpr (op == BinaryOp::Mul) { if constexpr (std::is_same_v<T, bool>) return a && b; else return wrap_mul(a, b); }
  else if constexpr (op == BinaryOp::Div) { if constexpr (std::is_floating_point_v<T>) return a / b; else if constexpr (std::is_same_v<T, bool>) return b ? a : false; else return int_div(a, b); }
  else if constexpr (op == BinaryOp::Maximum) { if constexpr (std::is_floating_point_v<T>) { if (a != a || b != b) return a + b; } return a > b ? a : b; }
  else if constexpr (op == BinaryOp::Minimum) { if constexpr (std::is_floating_point_v<T>) { if (a != a || b != b) return a + b; } return a < b ? a : b; }
  else if constexpr (op == BinaryOp::Pow) { if constexpr (std::is_floating_point_v<T>) return ::pow(a, b); else if constexpr (std::is_same_v<T, bool>) return a || !b; else return int_pow(a, b); }
  else if constexpr (is_unary_grad(op)) {  // fused backward: a = gradient, b = x or y
    if constexpr (std::is_floating_point_v<T>) return unary_backward<grad_source(op), T>(a, b);
    else return a;  // float only: never asked for other dtypes
  }
  else return a;
}

// Comparison and logical ops (Bool out).
template <BinaryOp op, class T>
TF_HD bool compare_fn(T a, T b) {
  if constexpr (op == BinaryOp::Eq) return a == b;
  else if constexpr (op == BinaryOp::Ne) return a != b;
  else if constexpr (op == BinaryOp::Lt) return a < b;
  else if constexpr (op == BinaryOp::Le) return a <= b;
  else if constexpr (op == BinaryOp::Gt) return a > b;
  else if constexpr (op == BinaryOp::Ge) return a >= b;
  else if constexpr (op == BinaryOp::LogicalAnd) return (a != T(0)) && (b != T(0));
  else return (a != T(0)) || (b != T(0));
}

// The random value of element i (counter offset + i) for each kind, as a double.
TF_HD double random_value(RandomKind kind, uint64_t seed, uint64_t counter, double a, double b) {
  Philox4 r = philox4x32(seed, counter);
  double u = u01(r.v[0], r.v[1]);
  if (kind == RandomKind::Uniform) return a + (b - a) * u;
  if (kind == RandomKind::Bernoulli) return u < a ? 1.0 : 0.0;
  if (kind == RandomKind::RandInt) {
    double span = b - a;
    double v = a + ::floor(u * span);
    return v >= b ? b - 1 : v;
  }
  // Normal: Box-Muller on two uniforms from the same counter.
  double u2 = u01(r.v[2], r.v[3]);
  double radius = ::sqrt(-2.0 * ::log(1.0 - u));
  return a + b * radius * ::cos(6.283185307179586 * u2);
}

}  // namespace tapeflow::backend
