// Internal: the fused forward of a Dense layer with a tanh / sigmoid / relu activation (used by
// nn::Dense; not part of the public API).
#pragma once
#include "backends/backend.h"
#include "tensor/tensor.h"

namespace tapeflow::detail {

// act(x @ w + bias) as one gemm (bias folded in, beta = 1) with the activation applied in place
// on the gemm's own output, recorded as one node whose backward uses that output (tanh: 1 - y^2,
// sigmoid: y (1 - y), relu: y > 0) and reduces the bias gradient over the rows. x (M, K), w (K, N)
// and bias (N,) share a float dtype and device; act is Tanh, Sigmoid or Relu. Returns an undefined
// tensor (having done nothing) when these conditions do not hold: the caller then composes addmm
// and the activation.
Tensor dense_activation(const Tensor& bias, const Tensor& x, const Tensor& w, backend::UnaryOp act);

}  // namespace tapeflow::detail
