// Binary element-wise ops on CUDA (arithmetic, comparisons, logical, backward helpers) over the
// scalar math shared with the CPU backend, run by the generic launcher in elementwise.cuh.
// Broadcasting arrives as zero strides; a broadcast scalar operand keeps the flat fast path.
#include <type_traits>

#include "backends/cuda/elementwise.cuh"
#include "backends/cuda/kernels.h"
#include "backends/functors.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

template <BinaryOp op, class T>
struct BinaryF : FunctorBase {
  static constexpr int kArity = 2;
  using In0 = T;
  using In1 = T;
  using Out = std::conditional_t<is_bool_output(op), bool, T>;
  __device__ Out operator()(T a, T b) const {
    if constexpr (is_bool_output(op)) return compare_fn<op, T>(a, b);
    else return binary_fn<op, T>(a, b);
  }
};

constexpr bool float_only(BinaryOp op) {
  return op == BinaryOp::ReluGrad || op == BinaryOp::TanhGrad || op == BinaryOp::SigmoidGrad;
}

template <BinaryOp op>
bool run(const View& a, const View& b, const View& out, cudaStream_t stream) {
  return visit_dtype(a.dtype, [&](auto tag) -> bool {
    using T = decltype(tag);
    if constexpr (float_only(op) && !std::is_floating_point_v<T>) {
      fail("cuda binary: op #", int(op), " needs a floating dtype, got ", a.dtype);
    } else {
      return launch_elementwise<false>(BinaryF<op, T>{}, out, {&a, &b}, stream);
    }
  });
}

}  // namespace

bool launch_binary(BinaryOp op, const View& a, const View& b, const View& out,
                   cudaStream_t stream) {
  DType want = is_bool_output(op) ? kBool : a.dtype;
  if (b.dtype != a.dtype || out.dtype != want)
    fail("cuda binary: op #", int(op), " got dtypes ", a.dtype, " and ", b.dtype, " writing ",
         out.dtype, " (expected matching inputs and ", want, " out)");
  switch (op) {
#define TF_BINARY_CASE(NAME) \
  case BinaryOp::NAME: return run<BinaryOp::NAME>(a, b, out, stream);
    TF_BINARY_CASE(Add) TF_BINARY_CASE(Sub) TF_BINARY_CASE(Mul) TF_BINARY_CASE(Div)
    TF_BINARY_CASE(Maximum) TF_BINARY_CASE(Minimum) TF_BINARY_CASE(Pow) TF_BINARY_CASE(Eq)
    TF_BINARY_CASE(Ne) TF_BINARY_CASE(Lt) TF_BINARY_CASE(Le) TF_BINARY_CASE(Gt)
    TF_BINARY_CASE(Ge) TF_BINARY_CASE(LogicalAnd) TF_BINARY_CASE(LogicalOr)
    TF_BINARY_CASE(ReluGrad) TF_BINARY_CASE(TanhGrad) TF_BINARY_CASE(SigmoidGrad)
#undef TF_BINARY_CASE
    default:
      fail("cuda binary: unknown op #", int(op));
  }
}

}  // namespace tapeflow::backend::cuda
