// PyTorch-convention losses (input, target), built from the same ops as the Keras-named ones.
#include "nn/functional.h"

#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::nn::functional {
namespace {

Tensor reduce(const char* fn, const Tensor& v, const std::string& reduction) {
  if (reduction == "mean") return v.mean();
  if (reduction == "sum") return v.sum();
  if (reduction == "none") return v;
  fail(fn, ": reduction must be \"mean\", \"sum\" or \"none\", got \"", reduction, "\"");
}

void check_pair(const char* fn, const Tensor& input, const Tensor& target) {
  if (!input.defined()) fail(fn, ": got an undefined tensor as input");
  if (!target.defined()) fail(fn, ": got an undefined tensor as target");
  if (!is_floating(input.dtype()))
    fail(fn, ": input must be a floating tensor, got ", input.dtype(),
         " (PyTorch's order is (input, target); Keras-named losses in nn:: take (y_true, y_pred))");
  if (input.shape() != target.shape())
    fail(fn, ": input of shape ", input.shape(), " and target of shape ", target.shape(),
         " differ (PyTorch's order is (input, target))");
}

Tensor as_input_dtype(const Tensor& target, const Tensor& input) {
  return target.dtype() == input.dtype() ? target : target.astype(input.dtype());
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_pair("mse_loss", input, target);
  return reduce("mse_loss", square(input - as_input_dtype(target, input)), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_pair("l1_loss", input, target);
  return reduce("l1_loss", abs(input - as_input_dtype(target, input)), reduction);
}

// 0.5 e^2 where |e| <= delta, delta (|e| - delta / 2) beyond: with q = min(|e|, delta),
// 0.5 q^2 + delta (|e| - q).
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double delta) {
  check_pair("huber_loss", input, target);
  if (!(delta > 0)) fail("huber_loss: delta must be positive, got ", delta);
  Tensor e = abs(input - as_input_dtype(target, input));
  Tensor quadratic = clamp(e, Scalar(0.0), Scalar(delta));
  return reduce("huber_loss", 0.5 * square(quadratic) + (e - quadratic) * delta, reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_pair("binary_cross_entropy", input, target);
  if (input.numel() > 0) {
    double lo = input.detach().min().item<double>(), hi = input.detach().max().item<double>();
    if (!(lo >= 0.0 && hi <= 1.0))
      fail("binary_cross_entropy: input must hold probabilities in [0, 1], got values in [", lo, ", ", hi,
           "] (for logits use binary_cross_entropy_with_logits; PyTorch's order is (input, target))");
  }
  Tensor t = as_input_dtype(target, input);
  Tensor log_p = clamp_min(log(input), -100.0);
  Tensor log_q = clamp_min(log(1.0 - input), -100.0);
  return reduce("binary_cross_entropy", -(t * log_p + (1.0 - t) * log_q), reduction);
}

// max(x, 0) - x t + log(1 + exp(-|x|)): finite for any logit.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_pair("binary_cross_entropy_with_logits", input, target);
  Tensor t = as_input_dtype(target, input);
  return reduce("binary_cross_entropy_with_logits", relu(input) - input * t + log1p(exp(-abs(input))), reduction);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const char* fn = "cross_entropy";
  if (!input.defined() || !target.defined()) fail(fn, ": got an undefined tensor");
  if (is_floating(target.dtype())) {  // class probabilities
    check_pair(fn, input, target);
    return reduce(fn, softmax_cross_entropy(input, target, 1), reduction);
  }
  if (input.dim() != 2 || target.dim() != 1 || target.size(0) != input.size(0))
    fail(fn, ": input must be (N, C) logits and target (N,) class indices, got shapes ", input.shape(), " and ",
         target.shape(), " (PyTorch's order is (input, target))");
  if (!is_floating(input.dtype())) fail(fn, ": input must be floating logits, got ", input.dtype());
  return reduce(fn, tapeflow::cross_entropy(input, target), reduction);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const char* fn = "nll_loss";
  if (!input.defined() || !target.defined()) fail(fn, ": got an undefined tensor");
  if (input.dim() != 2 || target.dim() != 1 || target.size(0) != input.size(0) || is_floating(target.dtype()))
    fail(fn, ": input must be (N, C) log-probabilities and target (N,) integer class indices, got ", input.shape(),
         " ", input.dtype(), " and ", target.shape(), " ", target.dtype(), " (PyTorch's order is (input, target))");
  Tensor picked = gather(input, 1, target.astype(kInt64).reshape({-1, 1})).reshape({-1});
  return reduce(fn, -picked, reduction);
}

}  // namespace tapeflow::nn::functional
