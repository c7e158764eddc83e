// Activation functions (see activations.h) and the name table behind get_activation().
#include "nn/activations.h"

#include <cmath>
#include <utility>

#include "autograd/trace.h"
#include "tensor/ops.h"

namespace tapeflow::nn {
namespace activations {

namespace {
// Reports a composite activation to an exporter's tracer as one op (ONNX's name for it), after
// the ops it is made of (autograd/trace.h).
Tensor traced(const char* op, const Tensor& x, Tensor y, std::vector<autograd::TraceAttr> attrs = {}) {
  if (autograd::tracing()) autograd::trace(op, {x}, y, std::move(attrs));
  return y;
}
}  // namespace

Tensor linear(const Tensor& x) { return x; }
Tensor sigmoid(const Tensor& x) { return tapeflow::sigmoid(x); }
Tensor tanh(const Tensor& x) { return tapeflow::tanh(x); }
Tensor relu(const Tensor& x) { return tapeflow::relu(x); }

Tensor leaky_relu(const Tensor& x, double alpha) {
  return traced("LeakyRelu", x, where(x > 0, x, x * alpha), {{"alpha", {}, alpha}});
}

// NOTE: exp is taken of min(x, 0) so that large positive x cannot overflow into the
// (unselected) negative branch and poison the gradient with inf * 0.
Tensor elu(const Tensor& x, double alpha) {
  return traced("Elu", x, tapeflow::relu(x) + expm1(clamp_max(x, 0)) * alpha, {{"alpha", {}, alpha}});
}

Tensor selu(const Tensor& x) {
  constexpr double kAlpha = 1.67326324235437728481;
  constexpr double kScale = 1.05070098735548049342;
  return traced("Selu", x, elu(x, kAlpha) * kScale, {{"alpha", {}, kAlpha}, {"gamma", {}, kScale}});
}

Tensor erf(const Tensor& x) { return tapeflow::erf(x); }
Tensor gelu(const Tensor& x, bool approximate) { return tapeflow::gelu(x, approximate ? "tanh" : "none"); }

Tensor softplus(const Tensor& x) { return traced("Softplus", x, tapeflow::relu(x) + log1p(exp(-abs(x)))); }
Tensor softsign(const Tensor& x) { return traced("Softsign", x, x / (abs(x) + 1.0)); }
Tensor hard_sigmoid(const Tensor& x) {
  return traced("HardSigmoid", x, clamp(x * 0.2 + 0.5, 0.0, 1.0), {{"alpha", {}, 0.2}, {"beta", {}, 0.5}});
}
Tensor swish(const Tensor& x) { return x * tapeflow::sigmoid(x); }
Tensor softmax(const Tensor& x, int axis) { return tapeflow::softmax(x, axis); }
Tensor log_softmax(const Tensor& x, int axis) { return tapeflow::log_softmax(x, axis); }

}  // namespace activations

namespace {

const std::vector<std::pair<std::string, ActivationFn>>& activation_table() {
  namespace a = activations;
  static const std::vector<std::pair<std::string, ActivationFn>> t = {
      {"linear", a::linear},
      {"sigmoid", a::sigmoid},
      {"logistic", a::sigmoid},
      {"tanh", a::tanh},
      {"relu", a::relu},
      {"leaky_relu", [](const Tensor& x) { return a::leaky_relu(x); }},
      {"elu", [](const Tensor& x) { return a::elu(x); }},
      {"selu", a::selu},
      {"gelu", [](const Tensor& x) { return a::gelu(x); }},
      {"softplus", a::softplus},
      {"softsign", a::softsign},
      {"hard_sigmoid", a::hard_sigmoid},
      {"swish", a::swish},
      {"silu", a::swish},
      {"softmax", [](const Tensor& x) { return a::softmax(x); }},
      {"log_softmax", [](const Tensor& x) { return a::log_softmax(x); }},
  };
  return t;
}

}  // namespace

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (auto& [name, f] : activation_table()) n.push_back(name);
    return n;
  }();
  return names;
}

ActivationFn get_activation(const std::string& name) {
  if (name.empty()) return activations::linear;
  for (auto& [n, f] : activation_table())
    if (n == name) return f;
  std::string valid;
  for (auto& n : activation_names()) valid += (valid.empty() ? "" : ", ") + n;
  fail("unknown activation '", name, "'; valid names: ", valid);
}

}  // namespace tapeflow::nn
