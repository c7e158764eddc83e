// Unary element-wise ops on CUDA: one functor per (op, dtype) over the scalar math shared with
// the CPU backend (backends/functors.h), run by the generic launcher in elementwise.cuh.
// Ops that are the identity for a dtype (floor of an int, abs of a uint8) become a plain copy,
// and float-only ops are not instantiated for integers: both keep nvcc time down.
#include <type_traits>

#include "backends/cuda/elementwise.cuh"
#include "backends/cuda/kernels.h"
#include "backends/functors.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

template <UnaryOp op, class T>
struct UnaryF : FunctorBase {
  static constexpr int kArity = 1;
  using In0 = T;
  using Out = std::conditional_t<is_bool_output(op), bool, T>;
  double alpha = 0, beta = 0;
  __device__ Out operator()(T x) const {
    if constexpr (is_bool_output(op)) return unary_pred<op, T>(x);
    else return unary_fn<op, T>(x, alpha, beta);
  }
};

constexpr bool float_only(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp: case UnaryOp::Log: case UnaryOp::Log1p: case UnaryOp::Expm1:
    case UnaryOp::Sqrt: case UnaryOp::Rsqrt: case UnaryOp::Reciprocal: case UnaryOp::Sin:
    case UnaryOp::Cos: case UnaryOp::Tanh: case UnaryOp::Sigmoid: case UnaryOp::PowScalar:
      return true;
    default:
      return false;
  }
}

// Ops that return their input unchanged for dtype T (served by a copy).
template <class T>
constexpr bool is_identity(UnaryOp op) {
  if constexpr (std::is_floating_point_v<T>) {
    return false;
  } else {
    constexpr bool no_sign = std::is_unsigned_v<T> || std::is_same_v<T, bool>;
    return op == UnaryOp::Floor || op == UnaryOp::Ceil || op == UnaryOp::Round ||
           (no_sign && (op == UnaryOp::Abs || op == UnaryOp::Relu)) ||
           (std::is_same_v<T, bool> && op == UnaryOp::Sign);
  }
}

// IsNan / IsInf of an integer: all false.
template <class T>
constexpr bool is_constant_false(UnaryOp op) {
  return !std::is_floating_point_v<T> && (op == UnaryOp::IsNan || op == UnaryOp::IsInf);
}

template <UnaryOp op>
bool run(const View& x, const View& out, double alpha, double beta, cudaStream_t stream) {
  return visit_dtype(x.dtype, [&](auto tag) -> bool {
    using T = decltype(tag);
    if constexpr (float_only(op) && !std::is_floating_point_v<T>) {
      fail("cuda unary: op #", int(op), " needs a floating dtype, got ", x.dtype);
    } else if constexpr (is_identity<T>(op)) {
      launch_copy(x, out, stream);
      return true;
    } else if constexpr (is_constant_false<T>(op)) {
      launch_fill(out, 0.0, stream);
      return true;
    } else {
      UnaryF<op, T> f;
      f.alpha = alpha;
      f.beta = beta;
      return launch_elementwise<false>(f, out, {&x}, stream);
    }
  });
}

}  // namespace

bool launch_unary(UnaryOp op, const View& x, const View& out, double alpha, double beta,
                  cudaStream_t stream) {
  DType want = is_bool_output(op) ? kBool : x.dtype;
  if (out.dtype != want)
    fail("cuda unary: op #", int(op), " on ", x.dtype, " must write ", want, ", got ", out.dtype);
  switch (op) {
#define TF_UNARY_CASE(NAME) \
  case UnaryOp::NAME: return run<UnaryOp::NAME>(x, out, alpha, beta, stream);
    TF_UNARY_CASE(Neg) TF_UNARY_CASE(Abs) TF_UNARY_CASE(Sign) TF_UNARY_CASE(Exp)
    TF_UNARY_CASE(Log) TF_UNARY_CASE(Log1p) TF_UNARY_CASE(Expm1) TF_UNARY_CASE(Sqrt)
    TF_UNARY_CASE(Rsqrt) TF_UNARY_CASE(Square) TF_UNARY_CASE(Reciprocal) TF_UNARY_CASE(Sin)
    TF_UNARY_CASE(Cos) TF_UNARY_CASE(Tanh) TF_UNARY_CASE(Sigmoid) TF_UNARY_CASE(Relu)
    TF_UNARY_CASE(Floor) TF_UNARY_CASE(Ceil) TF_UNARY_CASE(Round) TF_UNARY_CASE(Clamp)
    TF_UNARY_CASE(PowScalar) TF_UNARY_CASE(Affine) TF_UNARY_CASE(LogicalNot)
    TF_UNARY_CASE(IsNan) TF_UNARY_CASE(IsInf)
#undef TF_UNARY_CASE
    default:
      fail("cuda unary: unknown op #", int(op));
  }
}

}  // namespace tapeflow::backend::cuda
