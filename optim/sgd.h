// Stochastic gradient descent with Keras semantics: momentum as v = m*v - lr*g, p += v, and
// Nesterov as p += m*v - lr*g (with the new v); time-based decay and decoupled weight decay
// come from the Optimizer base.
#pragma once
#include "optim/optimizer.h"

namespace tapeflow::optim {

struct SGDOptions {
  double lr = 0.01;  // Keras default
  double momentum = 0.0;
  bool nesterov = false;
  // Shared by every optimizer (see CommonOptions).
  double decay = 0.0;
  double weight_decay = 0.0;
  double clipnorm = 0.0;
  double global_clipnorm = 0.0;
  double clipvalue = 0.0;
};

// The CommonOptions part of any XxxOptions struct.
template <class O>
CommonOptions common_options(const O& o) {
  return CommonOptions{o.decay, o.weight_decay, o.clipnorm, o.global_clipnorm, o.clipvalue};
}

class SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions o = {}) : SGD(std::vector<Tensor>{}, o) {}
  SGD(std::vector<Tensor> params, SGDOptions o = {});
  std::string name() const override { return "SGD"; }
  std::vector<std::string> slot_names() const override { return {"momentum"}; }
  const SGDOptions& options() const { return o_; }

 protected:
  void update(size_t index, Tensor& param, const Tensor& grad, double lr_t) override;
  bool fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) override;

 private:
  SGDOptions o_;
};

}  // namespace tapeflow::optim
