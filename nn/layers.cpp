// Layer implementations: Dense (lazy build, one gemm with the bias folded in and the activation
// in place: autograd/dense.h), Flatten, Dropout, Activation.
#include "nn/layers.h"

#include "autograd/dense.h"
#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

Dense::Dense(int64_t units, const std::string& activation, bool use_bias, InitSpec kernel_initializer,
             InitSpec bias_initializer, int64_t input_dim)
    : Module("Dense", "dense"),
      units_(units),
      activation_name_(activation.empty() ? "linear" : activation),
      activation_(get_activation(activation)),
      use_bias_(use_bias),
      kernel_init_(std::move(kernel_initializer.fn)),
      bias_init_(std::move(bias_initializer.fn)) {
  if (units <= 0) fail("Dense: units must be positive, got ", units);
  if (input_dim < 0) fail("Dense: input_dim must be positive, got ", input_dim);
  if (input_dim > 0) build_for(input_dim);
}

void Dense::build_for(int64_t input_dim) {
  if (built()) return;
  if (input_dim <= 0) fail("Dense: input dim must be positive, got ", input_dim);
  NoGradGuard no_grad;
  Options o(dtype(), device());
  Tensor k = kernel_init_(Shape{input_dim, units_}, o);
  if (k.shape() != Shape({input_dim, units_}) || k.dtype() != dtype())
    fail("Dense: kernel initializer returned shape ", k.shape(), " dtype ", k.dtype(), ", expected (",
         input_dim, ", ", units_, ") ", dtype());
  kernel_ = register_parameter("kernel", k.to(device()));
  if (use_bias_) {
    Tensor b = bias_init_(Shape{units_}, o);
    if (b.shape() != Shape({units_}))
      fail("Dense: bias initializer returned shape ", b.shape(), ", expected (", units_, ",)");
    bias_ = register_parameter("bias", b.astype(dtype()).to(device()));
  }
}

Tensor Dense::forward(const Tensor& x) {
  if (x.dim() < 1) fail("Dense: input must have at least one dim, got shape ", x.shape());
  int64_t in = x.size(-1);
  if (!built()) build_for(in);
  if (in != kernel_.size(0))
    fail("Dense(", units_, "): input shape ", x.shape(), " does not match the kernel ", kernel_.shape(),
         ": last dim ", in, " != ", kernel_.size(0));
  // As Keras does, the input is cast to the layer's dtype (a float64 batch into a float32 layer
  // computes in float32; integer inputs become float): never silently promoted math.
  Tensor xc = x.dtype() == kernel_.dtype() ? x : x.astype(kernel_.dtype());
  Tensor x2 = xc.dim() == 2 ? xc : xc.reshape(Shape{-1, in});
  using backend::UnaryOp;
  const std::string& a = activation_name_;
  bool fusable = a == "tanh" || a == "relu" || a == "sigmoid";
  UnaryOp op = a == "tanh" ? UnaryOp::Tanh : a == "relu" ? UnaryOp::Relu : UnaryOp::Sigmoid;
  auto unflatten = [&](Tensor t) {
    if (x.dim() == 2) return t;
    Shape s = x.shape();
    s[s.size() - 1] = units_;
    return t.reshape(s);
  };
  // One gemm with the bias folded in, the activation in place on its output, one backward node.
  if (use_bias_ && fusable) {
    Tensor y = detail::dense_activation(bias_, x2, kernel_, op);
    if (y.defined()) return unflatten(y);
  }
  Tensor y = unflatten(use_bias_ ? addmm(bias_, x2, kernel_) : matmul(x2, kernel_));
  if (activation_name_ == "linear") return y;
  // Not recording: y is this call's own fresh tensor, so the activation overwrites it in place.
  if (fusable && !is_grad_enabled() && is_floating(y.dtype()) && y.is_contiguous()) {
    backend::View v = detail::view_of(y);
    detail::backend_of(y).unary(op, v, v, 0, 0);
    return y;
  }
  return activation_(y);
}

Flatten::Flatten() : Module("Flatten", "flatten") {}

Tensor Flatten::forward(const Tensor& x) {
  if (x.dim() < 1) fail("Flatten: input must have a batch dim, got shape ", x.shape());
  if (x.dim() == 2) return x;
  int64_t n = x.size(0);
  int64_t rest = 1;
  for (int i = 1; i < x.dim(); ++i) rest *= x.size(i);
  return x.reshape(Shape{n, rest});
}

Dropout::Dropout(double rate) : Module("Dropout", "dropout"), rate_(rate) {
  if (!(rate >= 0 && rate < 1)) fail("Dropout: rate must be in [0, 1), got ", rate);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || rate_ == 0) return x;
  Tensor keep = bernoulli(x.shape(), 1.0 - rate_, Options(x.dtype(), x.device()));
  return x * keep * (1.0 / (1.0 - rate_));
}

Activation::Activation(const std::string& name)
    : Module("Activation", "activation"), activation_name_(name), fn_(get_activation(name)) {}

}  // namespace tapeflow::nn
