// Losses with Keras names, argument order (y_true, y_pred) and semantics: each computes a
// per-sample value (mean over the last axis for mse/mae/huber/binary_crossentropy, the sum
// over classes for the categorical ones), then reduces it: mean (Keras's
// sum_over_batch_size), sum or none. 1-D inputs are one value per sample. The from_logits forms
// are fused (softmax_cross_entropy, cross_entropy, a stable log-sigmoid) and stay finite for
// logits of magnitude 1e4. Probabilities are clipped to [1e-7, 1 - 1e-7] as Keras does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::nn {

enum class Reduction { Mean, Sum, None };
constexpr double kLossEpsilon = 1e-7;  // Keras's backend epsilon

Tensor reduce_loss(const Tensor& per_sample, Reduction reduction);

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, Reduction r = Reduction::Mean);
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, Reduction r = Reduction::Mean);
// 0.5 e^2 for |e| <= delta, delta (|e| - 0.5 delta) beyond, e = y_pred - y_true.
Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta = 1.0, Reduction r = Reduction::Mean);
// Probabilities: -(t log p + (1 - t) log(1 - p)) with p clipped. Logits: the stable
// max(x, 0) - x t + log(1 + exp(-|x|)).
Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                           Reduction r = Reduction::Mean);
// One-hot (or soft) targets of the prediction's shape. Probabilities are renormalised by their
// row sum, clipped, then -sum(t log p) (Keras); logits use the fused softmax cross-entropy.
Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                                Reduction r = Reduction::Mean);
// Integer labels of shape (N,) or (N, 1) (floating labels holding integers are accepted).
Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                                       Reduction r = Reduction::Mean);

// A loss as an object (what Model::compile takes).
class Loss {
 public:
  Loss(std::string name, Reduction reduction) : name_(std::move(name)), reduction_(reduction) {}
  virtual ~Loss();
  virtual Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const = 0;
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const {
    return reduce_loss(per_sample(y_true, y_pred), reduction_);
  }
  const std::string& name() const { return name_; }
  Reduction reduction() const { return reduction_; }

 private:
  std::string name_;
  Reduction reduction_;
};

class MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(Reduction r = Reduction::Mean) : Loss("mean_squared_error", r) {}
  Tensor per_sample(const Tensor& t, const Tensor& p) const override;
};
class MeanAbsoluteError : public Loss {
 public:
  explicit MeanAbsoluteError(Reduction r = Reduction::Mean) : Loss("mean_absolute_error", r) {}
  Tensor per_sample(const Tensor& t, const Tensor& p) const override;
};
class Huber : public Loss {
 public:
  explicit Huber(double delta = 1.0, Reduction r = Reduction::Mean) : Loss("huber", r), delta_(delta) {}
  Tensor per_sample(const Tensor& t, const Tensor& p) const override;

 private:
  double delta_;
};
class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(bool from_logits = false, Reduction r = Reduction::Mean)
      : Loss("binary_crossentropy", r), from_logits_(from_logits) {}
  Tensor per_sample(const Tensor& t, const Tensor& p) const override;

 private:
  bool from_logits_;
};
class CategoricalCrossentropy : public Loss {
 public:
  explicit CategoricalCrossentropy(bool from_logits = false, Reduction r = Reduction::Mean)
      : Loss("categorical_crossentropy", r), from_logits_(from_logits) {}
  Tensor per_sample(const Tensor& t, const Tensor& p) const override;

 private:
  bool from_logits_;
};
class SparseCategoricalCrossentropy : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(bool from_logits = false, Reduction r = Reduction::Mean)
      : Loss("sparse_categorical_crossentropy", r), from_logits_(from_logits) {}
  Tensor per_sample(const Tensor& t, const Tensor& p) const override;

 private:
  bool from_logits_;
};

// By Keras name (also the aliases mse, mae, huber_loss); unknown names list the valid ones.
std::shared_ptr<Loss> get_loss(const std::string& name);
const std::vector<std::string>& loss_names();

}  // namespace tapeflow::nn
