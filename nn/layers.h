// Keras-style layers: Dense, Flatten, Dropout and Activation. Dense creates its kernel
// (in, units) and bias (units,) on its first call (or at construction when input_dim is given),
// on the module's device and dtype, with its initializers.
#pragma once
#include <cstdint>
#include <string>

#include "nn/activations.h"
#include "nn/init.h"
#include "nn/module.h"

namespace tapeflow::nn {

// y = activation(x @ kernel + bias) over the last axis; parameters "kernel" and "bias".
class Dense : public Module {
 public:
  explicit Dense(int64_t units, const std::string& activation = "linear", bool use_bias = true,
                 InitSpec kernel_initializer = "glorot_uniform", InitSpec bias_initializer = "zeros",
                 int64_t input_dim = 0);
  Tensor forward(const Tensor& x) override;
  bool built() const override { return kernel_.defined(); }
  void build_for(int64_t input_dim);  // creates the weights now (no-op when already built)

  int64_t units() const { return units_; }
  const std::string& activation_name() const { return activation_name_; }
  Tensor kernel() const { return kernel_; }
  Tensor bias() const { return bias_; }

 private:
  int64_t units_;
  std::string activation_name_;
  ActivationFn activation_;
  bool use_bias_;
  Initializer kernel_init_, bias_init_;
  Tensor kernel_, bias_;
};

// (N, d1, d2, ...) -> (N, d1 * d2 * ...).
class Flatten : public Module {
 public:
  Flatten();
  Tensor forward(const Tensor& x) override;
};

// Training: zeroes each element with probability rate and scales the rest by 1 / (1 - rate)
// (a bernoulli mask from the global generator). Eval: the identity.
class Dropout : public Module {
 public:
  explicit Dropout(double rate);
  Tensor forward(const Tensor& x) override;
  double rate() const { return rate_; }

 private:
  double rate_;
};

// An activation function as a layer: Activation("relu").
class Activation : public Module {
 public:
  explicit Activation(const std::string& name);
  Tensor forward(const Tensor& x) override { return fn_(x); }
  const std::string& activation_name() const { return activation_name_; }

 private:
  std::string activation_name_;
  ActivationFn fn_;
};

}  // namespace tapeflow::nn
