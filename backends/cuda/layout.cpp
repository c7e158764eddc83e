// The host side of the element-wise launcher: coalesces the operands' dims once and decides
// between the flat (dense or broadcast-scalar, optionally vectorised) kernel and the strided
// kernels with 32- or 64-bit index math. Plain C++, compiled once instead of per functor.
#include "backends/cuda/layout.h"

namespace tapeflow::backend::cuda {

namespace {
constexpr int kVecWidth = 4;  // elementwise.cuh's kVec
}

ElementwisePlan plan_elementwise(int nops, const View* const* views) {
  ElementwisePlan plan;
  const View& out = *views[0];
  plan.n = out.numel();
  Dims<4>& dims = plan.dims;
  for (int d = out.rank - 1; d >= 0; --d) {  // innermost first, as coalesce<N>
    if (out.shape[d] == 1) continue;
    if (dims.rank > 0) {
      int last = dims.rank - 1;
      bool merge = true;
      for (int k = 0; k < nops; ++k)
        if (views[k]->strides[d] != dims.stride[last][k] * dims.size[last]) merge = false;
      if (merge) { dims.size[last] *= out.shape[d]; continue; }
    }
    dims.size[dims.rank] = out.shape[d];
    for (int k = 0; k < nops; ++k) dims.stride[dims.rank][k] = views[k]->strides[d];
    ++dims.rank;
  }
  bool flat = dims.rank == 0 || dims.stride[0][0] == 1;
  if (dims.rank > 1) flat = false;
  for (int k = 1; k < nops && flat && dims.rank == 1; ++k)
    if (dims.stride[0][k] != 0 && dims.stride[0][k] != 1) flat = false;
  if (flat) {
    plan.kind = ElementwisePlan::Flat;
    plan.vec = plan.n >= kVecWidth;
    for (int k = 0; k < nops; ++k) {
      bool scalar = k > 0 && (dims.rank == 0 || dims.stride[0][k] == 0);
      if (scalar) plan.bcast |= 1u << (k - 1);
      size_t align = dtype_size(views[k]->dtype) * kVecWidth;
      if (!scalar && reinterpret_cast<uintptr_t>(views[k]->data) % align != 0) plan.vec = false;
    }
    return plan;
  }
  bool fits = plan.n < kMax32;
  for (int k = 0; k < nops; ++k) {
    int64_t extent = 1;
    for (int d = 0; d < dims.rank; ++d) extent += (dims.size[d] - 1) * dims.stride[d][k];
    if (extent >= kMax32) fits = false;
  }
  plan.kind = fits ? ElementwisePlan::Strided32 : ElementwisePlan::Strided64;
  return plan;
}

}  // namespace tapeflow::backend::cuda
