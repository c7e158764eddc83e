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
    if constexpr (is_float_only(op) && !std::is_floating_point_v<T>) {
      fail("cuda unary: ", op_name(op), " needs a floating dtype, got ", x.dtype);
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
    fail("cuda unary: ", op_name(op), " on ", x.dtype, " must write ", want, ", got ", out.dtype);
  switch (op) {  // one case per line of TAPEFLOW_UNARY_OPS (backends/op_table.h)
#define TF_UNARY_CASE(NAME, ...) \
  case UnaryOp::NAME: return run<UnaryOp::NAME>(x, out, alpha, beta, stream);
    TAPEFLOW_UNARY_OPS(TF_UNARY_CASE)
#undef TF_UNARY_CASE
    default:
      fail("cuda unary: unknown op #", int(op));
  }
}

}  // namespace tapeflow::backend::cuda
