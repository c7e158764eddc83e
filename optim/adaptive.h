// The adaptive optimizers, with Keras (3) update rules and defaults: Adam (and amsgrad),
// AdamW (Adam with decoupled weight decay, default 0.004), RMSprop (rho, momentum, centered)
// and Adagrad. Epsilon defaults to Keras's 1e-7 and sits where Keras puts it.
#pragma once
#include "optim/sgd.h"

namespace tapeflow::optim {

struct AdamOptions {
  double lr = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  double decay = 0.0;
  double weight_decay = 0.0;  // AdamW's default is 0.004 (see AdamW)
  double clipnorm = 0.0;
  double global_clipnorm = 0.0;
  double clipvalue = 0.0;
};

// m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  (amsgrad: vhat = max(vhat, v), used for v)
// p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions o = {}) : Adam(std::vector<Tensor>{}, o) {}
  Adam(std::vector<Tensor> params, AdamOptions o = {});
  std::string name() const override { return "Adam"; }
  std::vector<std::string> slot_names() const override { return {"m", "v", "vhat"}; }
  const AdamOptions& options() const { return o_; }

 protected:
  void update(size_t index, Tensor& param, const Tensor& grad, double lr_t) override;
  bool fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) override;

 private:
  double step_size(double lr_t) const;  // lr_t * sqrt(1 - b2^t) / (1 - b1^t)
  AdamOptions o_;
};

// Adam with decoupled weight decay p -= p * weight_decay * lr (applied before the Adam step).
// The default options carry Keras's default weight_decay of 0.004.
class AdamW : public Adam {
 public:
  explicit AdamW(AdamOptions o = with_default_decay()) : AdamW(std::vector<Tensor>{}, o) {}
  AdamW(std::vector<Tensor> params, AdamOptions o = with_default_decay()) : Adam(std::move(params), o) {}
  std::string name() const override { return "AdamW"; }
  static AdamOptions with_default_decay() {
    AdamOptions o;
    o.weight_decay = 0.004;
    return o;
  }
};

struct RMSpropOptions {
  double lr = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  double decay = 0.0;
  double weight_decay = 0.0;
  double clipnorm = 0.0;
  double global_clipnorm = 0.0;
  double clipvalue = 0.0;
};

// s = rho*s + (1-rho)*g^2;  centered: a = rho*a + (1-rho)*g, denom = s - a^2 + eps, else s + eps
// inc = lr * g / sqrt(denom);  momentum: b = momentum*b + inc, p -= b;  else p -= inc
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions o = {}) : RMSprop(std::vector<Tensor>{}, o) {}
  RMSprop(std::vector<Tensor> params, RMSpropOptions o = {});
  std::string name() const override { return "RMSprop"; }
  std::vector<std::string> slot_names() const override { return {"velocity", "average_grad", "momentum"}; }
  const RMSpropOptions& options() const { return o_; }

 protected:
  void update(size_t index, Tensor& param, const Tensor& grad, double lr_t) override;
  bool fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) override;

 private:
  RMSpropOptions o_;
};

struct AdagradOptions {
  double lr = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  double decay = 0.0;
  double weight_decay = 0.0;
  double clipnorm = 0.0;
  double global_clipnorm = 0.0;
  double clipvalue = 0.0;
};

// acc += g^2;  p -= lr * g / sqrt(acc + eps)
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions o = {}) : Adagrad(std::vector<Tensor>{}, o) {}
  Adagrad(std::vector<Tensor> params, AdagradOptions o = {});
  std::string name() const override { return "Adagrad"; }
  std::vector<std::string> slot_names() const override { return {"accumulator"}; }
  const AdagradOptions& options() const { return o_; }

 protected:
  void update(size_t index, Tensor& param, const Tensor& grad, double lr_t) override;
  bool fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) override;

 private:
  AdagradOptions o_;
};

}  // namespace tapeflow::optim
