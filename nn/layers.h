// Keras-style layers: Dense, Flatten, Dropout and Activation. Dense creates its kernel
// (in, units) and bias (units,) on its first call (or at construction when input_dim is given),
// on the module's device and dtype, with its initializers.
//
// Options are named, as Keras keywords, with chained setters (PyTorch C++ style), in any order:
//   nn::Dense(64, nn::DenseOptions().activation("relu").input_dim(784))
//   nn::Dropout(nn::DropoutOptions().rate(0.5))
// The positional forms (Dense(64, "relu"), Dropout(0.5)) stay.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/activations.h"
#include "nn/cloneable.h"
#include "nn/init.h"
#include "nn/module.h"
#include "nn/options.h"

namespace tapeflow::nn {


struct DenseOptions {
  TAPEFLOW_LAYER_ARG(DenseOptions, std::string, activation, "linear")
  TAPEFLOW_LAYER_ARG(DenseOptions, bool, use_bias, true)
  TAPEFLOW_LAYER_ARG(DenseOptions, InitSpec, kernel_initializer, "glorot_uniform")
  TAPEFLOW_LAYER_ARG(DenseOptions, InitSpec, bias_initializer, "zeros")
  TAPEFLOW_LAYER_ARG(DenseOptions, int64_t, input_dim, 0)  // 0: inferred on the first call
  TAPEFLOW_LAYER_ARG(DenseOptions, std::string, name, "")  // display name ("" = automatic)
};

struct DropoutOptions {
  TAPEFLOW_LAYER_ARG(DropoutOptions, double, rate, 0.5)
  TAPEFLOW_LAYER_ARG(DropoutOptions, std::string, name, "")
};

struct ActivationOptions {
  TAPEFLOW_LAYER_ARG(ActivationOptions, std::string, activation, "linear")
  TAPEFLOW_LAYER_ARG(ActivationOptions, std::string, name, "")
};

struct FlattenOptions {
  TAPEFLOW_LAYER_ARG(FlattenOptions, std::string, name, "")
};


// y = activation(x @ kernel + bias) over the last axis; parameters "kernel" and "bias".
class Dense : public Cloneable<Dense> {
 public:
  using Options = DenseOptions;
  Dense(int64_t units, const DenseOptions& options);
  explicit Dense(int64_t units, const std::string& activation = "linear", bool use_bias = true,
                 InitSpec kernel_initializer = "glorot_uniform", InitSpec bias_initializer = "zeros",
                 int64_t input_dim = 0);
  Tensor forward(const Tensor& x) override;
  bool built() const override { return kernel_.defined(); }
  void build_for(int64_t input_dim);  // creates the weights now (no-op when already built)
  std::shared_ptr<Dense> fresh() const;

  int64_t units() const { return units_; }
  const DenseOptions& options() const { return options_; }
  const std::string& activation_name() const { return options_.activation(); }
  Tensor kernel() const { return kernel_; }
  Tensor bias() const { return bias_; }

 protected:
  void prepare_clone_from(const Module& src) override;

 private:
  int64_t units_;
  DenseOptions options_;
  ActivationFn activation_;
  Tensor kernel_, bias_;
};

// (N, d1, d2, ...) -> (N, d1 * d2 * ...).
class Flatten : public Cloneable<Flatten> {
 public:
  using Options = FlattenOptions;
  Flatten();
  explicit Flatten(const FlattenOptions& options);
  Tensor forward(const Tensor& x) override;
};

// Training: zeroes each element with probability rate and scales the rest by 1 / (1 - rate)
// (a bernoulli mask from the global generator). Eval: the identity.
class Dropout : public Cloneable<Dropout> {
 public:
  using Options = DropoutOptions;
  explicit Dropout(double rate);
  explicit Dropout(const DropoutOptions& options);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Dropout> fresh() const { return std::make_shared<Dropout>(rate_); }
  double rate() const { return rate_; }

 private:
  double rate_;
};

// An activation function as a layer: Activation("relu").
class Activation : public Cloneable<Activation> {
 public:
  using Options = ActivationOptions;
  explicit Activation(const std::string& name);
  explicit Activation(const ActivationOptions& options);
  Tensor forward(const Tensor& x) override { return fn_(x); }
  std::shared_ptr<Activation> fresh() const { return std::make_shared<Activation>(activation_name_); }
  const std::string& activation_name() const { return activation_name_; }

 private:
  std::string activation_name_;
  ActivationFn fn_;
};

}  // namespace tapeflow::nn
