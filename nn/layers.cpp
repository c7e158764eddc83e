// Layer implementations: Dense (lazy build, one gemm with the bias folded in and the activation
// in place: autograd/dense.h), Flatten, Dropout, Activation.
#include "nn/layers.h"

#include "autograd/dense.h"
#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

Dense::Dense(int64_t units, const DenseOptions& options)
    : Cloneable("Dense", "dense"), units_(units), options_(options) {
  if (options_.activation().empty()) options_.activation("linear");
  activation_ = get_activation(options_.activation());
  // Initializers given by name are looked up now, so an unknown one fails at construction.
  options_.kernel_initializer(options_.kernel_initializer().resolve("Dense", "kernel_initializer"));
  options_.bias_initializer(options_.bias_initializer().resolve("Dense", "bias_initializer"));
  if (units <= 0) fail("Dense: units must be positive, got ", units);
  if (options_.input_dim() < 0) fail("Dense: input_dim must be positive, got ", options_.input_dim());
  if (!options_.name().empty()) set_name(options_.name());
  if (options_.input_dim() > 0) build_for(options_.input_dim());
}

Dense::Dense(int64_t units, const std::string& activation, bool use_bias, InitSpec kernel_initializer,
             InitSpec bias_initializer, int64_t input_dim)
    : Dense(units, DenseOptions()
                       .activation(activation)
                       .use_bias(use_bias)
                       .kernel_initializer(std::move(kernel_initializer))
                       .bias_initializer(std::move(bias_initializer))
                       .input_dim(input_dim)) {}

std::shared_ptr<Dense> Dense::fresh() const {
  // Unbuilt, on the default device: clone() moves it and builds it to the original's size.
  return std::make_shared<Dense>(units_, DenseOptions(options_).input_dim(0));
}

void Dense::prepare_clone_from(const Module& src) {
  auto* d = dynamic_cast<const Dense*>(&src);
  if (d && d->built() && !built()) build_for(d->kernel().size(0));
}

void Dense::build_for(int64_t input_dim) {
  if (built()) return;
  if (input_dim <= 0) fail("Dense: input dim must be positive, got ", input_dim);
  NoGradGuard no_grad;
  tapeflow::Options o(dtype(), device());
  Tensor k = options_.kernel_initializer().fn(Shape{input_dim, units_}, o);
  if (k.shape() != Shape({input_dim, units_}) || k.dtype() != dtype())
    fail("Dense: kernel initializer returned shape ", k.shape(), " dtype ", k.dtype(), ", expected (",
         input_dim, ", ", units_, ") ", dtype());
  kernel_ = register_parameter("kernel", k.to(device()));
  if (options_.use_bias()) {
    Tensor b = options_.bias_initializer().fn(Shape{units_}, o);
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
  Tensor x_cast, x_flat;  // references to x otherwise: no Tensor copies
  if (x.dtype() != kernel_.dtype()) x_cast = x.astype(kernel_.dtype());
  const Tensor& xc = x_cast.defined() ? x_cast : x;
  if (xc.dim() != 2) x_flat = xc.reshape(Shape{-1, in});
  const Tensor& x2 = x_flat.defined() ? x_flat : xc;
  const std::string& a = options_.activation();
  bool fusable = a == "tanh" || a == "relu" || a == "sigmoid";
  auto unflatten = [&](Tensor t) {
    if (x.dim() == 2) return t;
    Shape s = x.shape();
    s[s.size() - 1] = units_;
    return t.reshape(s);
  };
  // One gemm with the bias folded in, the activation in place on its output, one backward node.
  if (options_.use_bias() && fusable) {
    using backend::UnaryOp;
    UnaryOp op = a == "tanh" ? UnaryOp::Tanh : a == "relu" ? UnaryOp::Relu : UnaryOp::Sigmoid;
    Tensor y = tapeflow::detail::dense_activation(bias_, x2, kernel_, op);
    if (y.defined()) return unflatten(y);
  }
  Tensor y = unflatten(options_.use_bias() ? addmm(bias_, x2, kernel_) : matmul(x2, kernel_));
  return a == "linear" ? y : activation_(y);
}

Flatten::Flatten() : Cloneable("Flatten", "flatten") {}

Flatten::Flatten(const FlattenOptions& options) : Flatten() {
  if (!options.name().empty()) set_name(options.name());
}

Tensor Flatten::forward(const Tensor& x) {
  if (x.dim() < 1) fail("Flatten: input must have a batch dim, got shape ", x.shape());
  if (x.dim() == 2) return x;
  int64_t n = x.size(0);
  int64_t rest = 1;
  for (int i = 1; i < x.dim(); ++i) rest *= x.size(i);
  return x.reshape(Shape{n, rest});
}

Dropout::Dropout(double rate) : Cloneable("Dropout", "dropout"), rate_(rate) {
  if (!(rate >= 0 && rate < 1)) fail("Dropout: rate must be in [0, 1), got ", rate);
}

Dropout::Dropout(const DropoutOptions& options) : Dropout(options.rate()) {
  if (!options.name().empty()) set_name(options.name());
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || rate_ == 0) return x;
  Tensor keep = bernoulli(x.shape(), 1.0 - rate_, tapeflow::Options(x.dtype(), x.device()));
  return x * keep * (1.0 / (1.0 - rate_));
}

Activation::Activation(const std::string& name)
    : Cloneable("Activation", "activation"), activation_name_(name), fn_(get_activation(name)) {}

Activation::Activation(const ActivationOptions& options) : Activation(options.activation()) {
  if (!options.name().empty()) set_name(options.name());
}

}  // namespace tapeflow::nn
