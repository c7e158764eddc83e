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

template <BinaryOp op>
bool run(const View& a, const View& b, const View& out, cudaStream_t stream) {
  return visit_dtype(a.dtype, [&](auto tag) -> bool {
    using T = decltype(tag);
    if constexpr (is_unary_grad(op) && !std::is_floating_point_v<T>) {
      fail("cuda binary: ", op_name(op), " needs a floating dtype, got ", a.dtype);
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
    fail("cuda binary: ", op_name(op), " got dtypes ", a.dtype, " and ", b.dtype, " writing ",
         out.dtype, " (expected matching inputs and ", want, " out)");
  switch (op) {  // one case per line of TAPEFLOW_BINARY_OPS and per fused backward op
#define TF_BINARY_CASE(NAME, ...) \
  case BinaryOp::NAME: return run<BinaryOp::NAME>(a, b, out, stream);
#define TF_GRAD_CASE_NoGrad(NAME)
#define TF_GRAD_CASE_GradX(NAME) TF_BINARY_CASE(NAME##Grad)
#define TF_GRAD_CASE_GradY(NAME) TF_BINARY_CASE(NAME##Grad)
#define TF_GRAD_CASE(NAME, N, K, G, ...) TF_GRAD_CASE_##G(NAME)
    TAPEFLOW_BINARY_OPS(TF_BINARY_CASE)
    TAPEFLOW_UNARY_OPS(TF_GRAD_CASE)
#undef TF_GRAD_CASE
#undef TF_BINARY_CASE
    default:
      fail("cuda binary: unknown op #", int(op));
  }
}

}  // namespace tapeflow::backend::cuda
