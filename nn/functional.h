// tapeflow::nn::functional: losses with PyTorch's names, argument order (input, target) and
// semantics (torch.nn.functional), beside the Keras-named losses of nn/losses.h, whose order is
// (y_true, y_pred). Use one convention or the other by name:
//   namespace F = tf::nn::functional;
//   F::cross_entropy(logits, labels);          // PyTorch: input first
//   tf::nn::categorical_crossentropy(y, p);    // Keras: y_true first
// reduction: "mean" (default, over every element; cross_entropy/nll over samples), "sum" or
// "none". Shapes must match (or be (N, C) with (N,) labels where PyTorch allows it); the errors
// name the function and say which argument comes first.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace tapeflow::nn::functional {

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                  double delta = 1.0);
// input: probabilities in [0, 1] (checked); each log is clamped at -100 as PyTorch does.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const std::string& reduction = "mean");
// input: logits (N, C); target: class indices (N,) of an integer dtype, or class probabilities
// of input's shape.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
// input: log-probabilities (N, C); target: class indices (N,).
Tensor nll_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");

}  // namespace tapeflow::nn::functional
