// The bridge from the optimizers to the backend's fused update (backends/backend.h,
// OptimizerStep). Internal header (not part of the public API).
#pragma once
#include <initializer_list>

#include "backends/backend.h"
#include "tensor/tensor.h"

namespace tapeflow::optim::detail {

// Runs one fused in-place update of `param` (and its state tensors, in the order OptimizerStep
// lists them) when every tensor is a contiguous float32/float64 tensor of param's dtype, device
// and numel and the backend has a kernel; bumps the version of everything it wrote. Returns
// false, having changed nothing, otherwise (the caller then runs the unfused formulas).
bool fused_step(const backend::OptimizerStep& s, Tensor& param, const Tensor& grad,
                std::initializer_list<Tensor> state);

}  // namespace tapeflow::optim::detail
