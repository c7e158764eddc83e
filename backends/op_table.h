// The op tables: one X-macro line per element-wise or reduction op. Everything else about an op
// is generated from its line: the enums of backends/backend.h, the names in error messages, the
// dtype rules of the front end, the CPU and CUDA dispatch, the fused backward kernels and the
// test loops that compare every device against the CPU.
//
// This header is plain C++ (no CUDA, no backend internals): tensor/ and autograd/ may include it
// (ARCHITECTURE.md). The scalar math of each forward op lives in backends/functors.h.
//
// Unary columns: X(Enum, "name", Kind, Grad, derivative)
//   Kind  Any   every dtype (integers keep their dtype)
//         Float integer and bool inputs are cast to float32 first
//         Pred  the output is Bool (any input dtype)
//   Grad  NoGrad, or GradX / GradY: the op has a fused backward kernel (BinaryOp <Enum>Grad,
//         gx = g * derivative; a bool derivative is a mask: g where true, else 0) and
//         `derivative` is d op(x) / dx written in terms of the input x (GradX) or of the
//         output y (GradY). It is the only statement of that derivative: the fused kernel
//         evaluates it on scalars, autograd's create_graph path on Tensors.
#pragma once
#include <cmath>
#include <math.h>
#include <cstdint>

#include "base/hd.h"

#define TAPEFLOW_UNARY_OPS(X)                                                                  \
  X(Neg, "neg", Any, NoGrad, 0)                                                                \
  X(Abs, "abs", Any, NoGrad, 0)                                                                \
  X(Sign, "sign", Any, NoGrad, 0)                                                              \
  X(Exp, "exp", Float, NoGrad, 0)                                                              \
  X(Log, "log", Float, NoGrad, 0)                                                              \
  X(Log1p, "log1p", Float, NoGrad, 0)                                                          \
  X(Expm1, "expm1", Float, NoGrad, 0)                                                          \
  X(Sqrt, "sqrt", Float, NoGrad, 0)                                                            \
  X(Rsqrt, "rsqrt", Float, NoGrad, 0)                                                          \
  X(Square, "square", Any, NoGrad, 0)                                                          \
  X(Reciprocal, "reciprocal", Float, NoGrad, 0)                                                \
  X(Sin, "sin", Float, NoGrad, 0)                                                              \
  X(Cos, "cos", Float, NoGrad, 0)                                                              \
  X(Tanh, "tanh", Float, GradY, 1 - y * y)                                                     \
  X(Sigmoid, "sigmoid", Float, GradY, y * (1 - y))                                             \
  X(Relu, "relu", Any, GradX, x > 0)                                                           \
  X(Floor, "floor", Any, NoGrad, 0)                                                            \
  X(Ceil, "ceil", Any, NoGrad, 0)                                                              \
  X(Round, "round", Any, NoGrad, 0)                                                            \
  X(Clamp, "clamp", Any, NoGrad, 0)      /* min(max(x, alpha), beta); +-inf disable a side */  \
  X(PowScalar, "pow", Float, NoGrad, 0)  /* x ** alpha */                                      \
  X(Affine, "affine", Any, NoGrad, 0)    /* x * alpha + beta */                                \
  X(LogicalNot, "logical_not", Pred, NoGrad, 0)                                                \
  X(IsNan, "isnan", Pred, NoGrad, 0)                                                           \
  X(IsInf, "isinf", Pred, NoGrad, 0)                                                           \
  X(Erf, "erf", Float, GradX, 1.1283791670955126 * exp(-(x * x))) /* 2/sqrt(pi) e^-x^2 */      \
  /* x Phi(x): Phi(x) + x phi(x) */                                                            \
  X(Gelu, "gelu", Float, GradX,                                                                \
    0.5 * (1 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * (x * x)))    \
  /* x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3) */                                   \
  X(GeluTanh, "gelu_tanh", Float, GradX,                                                       \
    0.5 * (1 + tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x)))) +                     \
        0.5 * x * (1 - square(tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))) *      \
            (0.7978845608028654 * (1 + 0.134145 * (x * x))))

// Binary columns: X(Enum, "name", Out): Out is Same (a's dtype) or Bool (comparisons, logic).
// The fused backward ops <Enum>Grad of the unary table follow these in BinaryOp (all float:
// a = incoming gradient, b = the op's input x or output y as its Grad column says).
#define TAPEFLOW_BINARY_OPS(X)                                                                 \
  X(Add, "add", Same)                                                                          \
  X(Sub, "sub", Same)                                                                          \
  X(Mul, "mul", Same)                                                                          \
  X(Div, "div", Same)                                                                          \
  X(Maximum, "maximum", Same)                                                                  \
  X(Minimum, "minimum", Same)                                                                  \
  X(Pow, "pow", Same)                                                                          \
  X(Eq, "eq", Bool)                                                                            \
  X(Ne, "ne", Bool)                                                                            \
  X(Lt, "lt", Bool)                                                                            \
  X(Le, "le", Bool)                                                                            \
  X(Gt, "gt", Bool)                                                                            \
  X(Ge, "ge", Bool)                                                                            \
  X(LogicalAnd, "logical_and", Bool)                                                           \
  X(LogicalOr, "logical_or", Bool)

// Reduction columns: X(Enum, "name", Out): Out is Same (x's dtype) or Bool.
#define TAPEFLOW_REDUCE_OPS(X)                                                                 \
  X(Sum, "sum", Same)                                                                          \
  X(Prod, "prod", Same)                                                                        \
  X(Max, "max", Same)                                                                          \
  X(Min, "min", Same)                                                                          \
  X(All, "all", Bool)                                                                          \
  X(Any, "any", Bool)

namespace tapeflow::backend {

#define TF_OPT_ENUM(E, ...) E,
#define TF_OPT_GRAD_ENUM_NoGrad(E)
#define TF_OPT_GRAD_ENUM_GradX(E) E##Grad,
#define TF_OPT_GRAD_ENUM_GradY(E) E##Grad,
#define TF_OPT_UNARY_GRAD_ENUM(E, N, K, G, ...) TF_OPT_GRAD_ENUM_##G(E)

enum class UnaryOp : uint8_t { TAPEFLOW_UNARY_OPS(TF_OPT_ENUM) Count };
enum class BinaryOp : uint8_t {
  TAPEFLOW_BINARY_OPS(TF_OPT_ENUM) TAPEFLOW_UNARY_OPS(TF_OPT_UNARY_GRAD_ENUM) Count
};
enum class ReduceOp : uint8_t { TAPEFLOW_REDUCE_OPS(TF_OPT_ENUM) Count };

enum class UnaryKind : uint8_t { Any, Float, Pred };
enum class GradOf : uint8_t { NoGrad, GradX, GradY };

namespace op_info {
#define TF_OPT_NAME(E, N, ...) N,
#define TF_OPT_KIND(E, N, K, ...) UnaryKind::K,
#define TF_OPT_GRAD_OF(E, N, K, G, ...) GradOf::G,
#define TF_OPT_BOOL_OUT(E, N, O) (#O[0] == 'B'),  // the Out column: Same or Bool
#define TF_OPT_GRAD_NAME_NoGrad(N)
#define TF_OPT_GRAD_NAME_GradX(N) N "_backward",
#define TF_OPT_GRAD_NAME_GradY(N) N "_backward",
#define TF_OPT_UNARY_GRAD_NAME(E, N, K, G, ...) TF_OPT_GRAD_NAME_##G(N)
#define TF_OPT_GRAD_SOURCE_NoGrad(E)
#define TF_OPT_GRAD_SOURCE_GradX(E) UnaryOp::E,
#define TF_OPT_GRAD_SOURCE_GradY(E) UnaryOp::E,
#define TF_OPT_UNARY_GRAD_SOURCE(E, N, K, G, ...) TF_OPT_GRAD_SOURCE_##G(E)
#define TF_OPT_FALSE_NoGrad()
#define TF_OPT_FALSE_GradX() false,
#define TF_OPT_FALSE_GradY() false,
#define TF_OPT_UNARY_GRAD_FALSE(E, N, K, G, ...) TF_OPT_FALSE_##G()
inline constexpr const char* kUnaryNames[] = {TAPEFLOW_UNARY_OPS(TF_OPT_NAME)};
inline constexpr UnaryKind kUnaryKinds[] = {TAPEFLOW_UNARY_OPS(TF_OPT_KIND)};
inline constexpr GradOf kUnaryGradOf[] = {TAPEFLOW_UNARY_OPS(TF_OPT_GRAD_OF)};
inline constexpr const char* kBinaryNames[] = {TAPEFLOW_BINARY_OPS(TF_OPT_NAME)
                                               TAPEFLOW_UNARY_OPS(TF_OPT_UNARY_GRAD_NAME)};
inline constexpr bool kBinaryBoolOut[] = {TAPEFLOW_BINARY_OPS(TF_OPT_BOOL_OUT)
                                          TAPEFLOW_UNARY_OPS(TF_OPT_UNARY_GRAD_FALSE)};
inline constexpr UnaryOp kGradSource[] = {TAPEFLOW_UNARY_OPS(TF_OPT_UNARY_GRAD_SOURCE)};
inline constexpr const char* kReduceNames[] = {TAPEFLOW_REDUCE_OPS(TF_OPT_NAME)};
inline constexpr bool kReduceBoolOut[] = {TAPEFLOW_REDUCE_OPS(TF_OPT_BOOL_OUT)};
inline constexpr int kBinaryPlain = sizeof(kBinaryBoolOut) / sizeof(bool) -
                                    sizeof(kGradSource) / sizeof(UnaryOp);
}  // namespace op_info

// A table and its enum cannot disagree: both come from the same lines. These catch an edit of
// the generated arrays above.
static_assert(sizeof(op_info::kUnaryNames) / sizeof(char*) == size_t(UnaryOp::Count));
static_assert(sizeof(op_info::kUnaryKinds) / sizeof(UnaryKind) == size_t(UnaryOp::Count));
static_assert(sizeof(op_info::kBinaryNames) / sizeof(char*) == size_t(BinaryOp::Count));
static_assert(sizeof(op_info::kBinaryBoolOut) / sizeof(bool) == size_t(BinaryOp::Count));
static_assert(sizeof(op_info::kReduceNames) / sizeof(char*) == size_t(ReduceOp::Count));

constexpr const char* op_name(UnaryOp op) {
  return size_t(op) < size_t(UnaryOp::Count) ? op_info::kUnaryNames[size_t(op)] : "unknown unary op";
}
constexpr const char* op_name(BinaryOp op) {
  return size_t(op) < size_t(BinaryOp::Count) ? op_info::kBinaryNames[size_t(op)] : "unknown binary op";
}
constexpr const char* op_name(ReduceOp op) {
  return size_t(op) < size_t(ReduceOp::Count) ? op_info::kReduceNames[size_t(op)] : "unknown reduction";
}
// Float-only unary ops: integer and bool inputs are computed in float32.
constexpr bool is_float_only(UnaryOp op) { return op_info::kUnaryKinds[size_t(op)] == UnaryKind::Float; }
constexpr bool is_bool_output(UnaryOp op) { return op_info::kUnaryKinds[size_t(op)] == UnaryKind::Pred; }
constexpr bool is_bool_output(BinaryOp op) { return op_info::kBinaryBoolOut[size_t(op)]; }
constexpr bool is_bool_output(ReduceOp op) { return op_info::kReduceBoolOut[size_t(op)]; }
constexpr GradOf grad_of(UnaryOp op) { return op_info::kUnaryGradOf[size_t(op)]; }
// The fused backward ops (<Enum>Grad) and their unary op.
constexpr bool is_unary_grad(BinaryOp op) {
  return size_t(op) >= size_t(op_info::kBinaryPlain) && size_t(op) < size_t(BinaryOp::Count);
}
constexpr UnaryOp grad_source(BinaryOp op) { return op_info::kGradSource[size_t(op) - op_info::kBinaryPlain]; }
constexpr BinaryOp grad_op(UnaryOp op) {
  for (size_t i = 0; i < sizeof(op_info::kGradSource) / sizeof(UnaryOp); ++i)
    if (op_info::kGradSource[i] == op) return BinaryOp(op_info::kBinaryPlain + int(i));
  return BinaryOp::Count;
}

// The derivatives of the Grad column, one function template per op named like its enum entry,
// written once for scalars (the fused kernels, CPU and CUDA) and for Tensors (autograd, where
// exp/erf/tanh/square are tapeflow's ops, found by argument-dependent lookup).
namespace derivative {
using ::erf;
using ::exp;
using ::tanh;
template <class V> TF_HD V square(const V& v) { return v * v; }
#define TF_OPT_DERIV_NoGrad(E, D)
#define TF_OPT_DERIV_GradX(E, D) template <class V> TF_HD auto E(const V& x) { return D; }
#define TF_OPT_DERIV_GradY(E, D) template <class V> TF_HD auto E(const V& y) { return D; }
#define TF_OPT_DERIV(E, N, K, G, D) TF_OPT_DERIV_##G(E, D)
TAPEFLOW_UNARY_OPS(TF_OPT_DERIV)
}  // namespace derivative

}  // namespace tapeflow::backend
