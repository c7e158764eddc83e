// Keras normalisation and embedding layers (PyTorch math, Keras names and defaults):
//   LayerNormalization: normalises over the last axis; gamma / beta (features); epsilon 1e-3.
//   BatchNormalization: normalises over all but the channel axis (1, channels-first; Dense
//     outputs (N, C) too); gamma / beta parameters, moving_mean / moving_variance buffers (saved
//     and loaded with the weights). Keras's momentum m (0.99) means running = m * running +
//     (1 - m) * batch: PyTorch's momentum is 1 - m (0.01). The running variance takes the
//     unbiased batch variance, as PyTorch's does. Training normalises with the batch
//     statistics, eval with the running ones.
//   Embedding(input_dim, output_dim): integer ids (any shape) -> ids.shape + (output_dim);
//     "embeddings" drawn U(-0.05, 0.05) like Keras; float ids are truncated to integers.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/cloneable.h"
#include "nn/layers.h"

namespace tapeflow::nn {

struct NormOptions {
#define TAPEFLOW_NORM_ARG(T, name)           \
  NormOptions& name(T v) {                   \
    name##_ = std::move(v);                  \
    return *this;                            \
  }                                          \
  const T& name() const { return name##_; }
  TAPEFLOW_NORM_ARG(double, epsilon)
  TAPEFLOW_NORM_ARG(double, momentum)  // BatchNormalization only (Keras meaning)
  TAPEFLOW_NORM_ARG(bool, center)      // beta
  TAPEFLOW_NORM_ARG(bool, scale)       // gamma
  TAPEFLOW_NORM_ARG(std::string, name)
#undef TAPEFLOW_NORM_ARG
 private:
  double epsilon_ = 1e-3, momentum_ = 0.99;
  bool center_ = true, scale_ = true;
  std::string name_;
};
using LayerNormalizationOptions = NormOptions;
using BatchNormalizationOptions = NormOptions;

class LayerNormalization : public Cloneable<LayerNormalization> {
 public:
  explicit LayerNormalization(const NormOptions& options = NormOptions());
  Tensor forward(const Tensor& x) override;
  bool built() const override { return built_; }
  void build_for(int64_t features);
  std::shared_ptr<LayerNormalization> fresh() const { return std::make_shared<LayerNormalization>(options_); }

 protected:
  void prepare_clone_from(const Module& src) override;

 private:
  NormOptions options_;
  bool built_ = false;
  int64_t features_ = 0;
  Tensor gamma_, beta_;
};

class BatchNormalization : public Cloneable<BatchNormalization> {
 public:
  explicit BatchNormalization(const NormOptions& options = NormOptions());
  Tensor forward(const Tensor& x) override;
  bool built() const override { return built_; }
  void build_for(int64_t channels);
  std::shared_ptr<BatchNormalization> fresh() const { return std::make_shared<BatchNormalization>(options_); }
  Tensor moving_mean() const { return mean_; }
  Tensor moving_variance() const { return var_; }

 protected:
  void prepare_clone_from(const Module& src) override;

 private:
  NormOptions options_;
  bool built_ = false;
  int64_t channels_ = 0;
  Tensor gamma_, beta_, mean_, var_;
};

class Embedding : public Cloneable<Embedding> {
 public:
  Embedding(int64_t input_dim, int64_t output_dim, const std::string& name = "");
  Tensor forward(const Tensor& ids) override;
  std::shared_ptr<Embedding> fresh() const { return std::make_shared<Embedding>(input_dim_, output_dim_); }
  Tensor embeddings() const { return table_; }

 private:
  int64_t input_dim_, output_dim_;
  Tensor table_;
};

}  // namespace tapeflow::nn
