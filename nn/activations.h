// Activation functions by their Keras names, as plain functions of a Tensor and through
// get_activation(name). Each is built from differentiable ops (fused ones where they exist:
// sigmoid, tanh, relu, gelu, softmax, log_softmax), so gradients come from the tape.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::nn {

using ActivationFn = std::function<Tensor(const Tensor&)>;

namespace activations {
Tensor linear(const Tensor& x);
Tensor sigmoid(const Tensor& x);  // also "logistic"
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double alpha = 0.2);  // x for x > 0, alpha * x otherwise
Tensor elu(const Tensor& x, double alpha = 1.0);          // alpha * (exp(x) - 1) for x <= 0
Tensor selu(const Tensor& x);                             // scale * elu(x, alpha), Keras constants
// approximate = false: x * Phi(x) with the Gaussian CDF (Keras's default); true: the tanh
// approximation. Both are tapeflow::gelu (tensor/ops.h), one kernel each.
Tensor gelu(const Tensor& x, bool approximate = false);
Tensor softplus(const Tensor& x);      // log(1 + exp(x)), stable for large |x|
Tensor softsign(const Tensor& x);      // x / (1 + |x|)
Tensor hard_sigmoid(const Tensor& x);  // clip(0.2 * x + 0.5, 0, 1) (Keras 2's definition)
Tensor swish(const Tensor& x);         // x * sigmoid(x); also "silu"
Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);
// tapeflow::erf (tensor/ops.h), kept under its old name.
Tensor erf(const Tensor& x);
}  // namespace activations

// The activation called `name` ("" and "linear" are the identity). Unknown names throw,
// listing the valid ones.
ActivationFn get_activation(const std::string& name);
const std::vector<std::string>& activation_names();

}  // namespace tapeflow::nn
