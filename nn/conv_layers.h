// Keras convolution and pooling layers on PyTorch's layout: inputs are channels-first (N, C, H, W)
// / (N, C, L) and the kernel is stored as PyTorch's weight (out, in, kh, kw), so a PyTorch
// state_dict loads by renaming weight -> kernel. Keras's channels-last input is accepted with
// data_format("channels_last") (the layer transposes in and out).
//
//   nn::Conv2D(32, 3, nn::Conv2DOptions().activation("relu").padding("same"))
//   nn::MaxPooling2D(2)
//
// Conv layers build on their first call (the input channels are inferred), like Dense. The
// kernel is drawn by the initializer in Keras's shape (kh, kw, in, out), so glorot_uniform has
// Keras's fans, then stored as (out, in, kh, kw). Parameters: out*in*kh*kw (+ out bias).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/cloneable.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/options.h"
#include "tensor/conv_ops.h"

namespace tapeflow::nn {


struct ConvOptions {
  TAPEFLOW_LAYER_ARG(ConvOptions, Size2, strides, Size2(1))
  TAPEFLOW_LAYER_ARG(ConvOptions, std::string, padding, "valid")  // "valid" or "same"
  TAPEFLOW_LAYER_ARG(ConvOptions, Size2, dilation_rate, Size2(1))
  TAPEFLOW_LAYER_ARG(ConvOptions, int64_t, groups, 1)  // Conv1D / Conv2D: divides input channels and filters
  TAPEFLOW_LAYER_ARG(ConvOptions, std::string, activation, "linear")
  TAPEFLOW_LAYER_ARG(ConvOptions, bool, use_bias, true)
  TAPEFLOW_LAYER_ARG(ConvOptions, std::string, data_format, "channels_first")  // or "channels_last"
  TAPEFLOW_LAYER_ARG(ConvOptions, InitSpec, kernel_initializer, "glorot_uniform")
  TAPEFLOW_LAYER_ARG(ConvOptions, InitSpec, bias_initializer, "zeros")
  TAPEFLOW_LAYER_ARG(ConvOptions, std::string, name, "")
};
using Conv2DOptions = ConvOptions;
using Conv1DOptions = ConvOptions;

struct PoolOptions {
  TAPEFLOW_LAYER_ARG(PoolOptions, Size2, strides, Size2())  // not given: = pool_size (Keras)
  TAPEFLOW_LAYER_ARG(PoolOptions, std::string, padding, "valid")  // "valid" or "same"
  TAPEFLOW_LAYER_ARG(PoolOptions, std::string, data_format, "channels_first")
  TAPEFLOW_LAYER_ARG(PoolOptions, std::string, name, "")
};

// Conv1D (rank 1) and Conv2D (rank 2): y = activation(conv(x, kernel) + bias).
class ConvND : public Module {
 public:
  enum class Mode { Normal, Transpose, Depthwise };
  int64_t filters() const { return filters_; }
  const ConvOptions& options() const { return options_; }
  Tensor kernel() const { return kernel_; }
  Tensor bias() const { return bias_; }
  bool built() const override { return kernel_.defined(); }
  void build_for(int64_t in_channels);
  int64_t in_channels() const {  // of the built kernel
    return mode_ == Mode::Transpose   ? kernel_.size(0)
           : mode_ == Mode::Depthwise ? kernel_.size(0) / filters_
                                      : kernel_.size(1) * options_.groups();
  }

 protected:
  ConvND(const char* type, const char* base, int rank, int64_t filters, Size2 kernel_size, const ConvOptions& o,
         Mode mode = Mode::Normal);
  Tensor conv_forward(const Tensor& x);
  void prepare_clone_from(const Module& src) override;
  int rank_;
  Mode mode_;
  int64_t filters_;  // Depthwise: the depth multiplier
  Size2 kernel_size_;
  ConvOptions options_;
  ActivationFn activation_;
  Tensor kernel_, bias_;
};

class Conv2D : public Cloneable<Conv2D, ConvND> {
 public:
  Conv2D(int64_t filters, Size2 kernel_size, const ConvOptions& options = ConvOptions());
  Tensor forward(const Tensor& x) override { return conv_forward(x); }
  std::shared_ptr<Conv2D> fresh() const;
};

class Conv1D : public Cloneable<Conv1D, ConvND> {
 public:
  Conv1D(int64_t filters, int64_t kernel_size, const ConvOptions& options = ConvOptions());
  Tensor forward(const Tensor& x) override { return conv_forward(x); }
  std::shared_ptr<Conv1D> fresh() const;
};

// Conv2DTranspose(filters, kernel_size): PyTorch's conv_transpose2d, weight (in, filters, kh, kw)
// (Keras kernel (kh, kw, filters, in)); output H = (H-1)*stride + kh ("valid") or H*stride
// ("same", needs kernel >= stride). Parameters in*filters*kh*kw + filters.
class Conv2DTranspose : public Cloneable<Conv2DTranspose, ConvND> {
 public:
  Conv2DTranspose(int64_t filters, Size2 kernel_size, const ConvOptions& options = ConvOptions());
  Tensor forward(const Tensor& x) override { return conv_forward(x); }
  std::shared_ptr<Conv2DTranspose> fresh() const;
};

// DepthwiseConv2D(kernel_size, depth_multiplier): one kernel_size filter per input channel
// (groups = channels), weight (in*depth_multiplier, 1, kh, kw); output channels
// in*depth_multiplier. Parameters in*dm*kh*kw + in*dm.
class DepthwiseConv2D : public Cloneable<DepthwiseConv2D, ConvND> {
 public:
  explicit DepthwiseConv2D(Size2 kernel_size, int64_t depth_multiplier = 1, const ConvOptions& options = ConvOptions());
  Tensor forward(const Tensor& x) override { return conv_forward(x); }
  std::shared_ptr<DepthwiseConv2D> fresh() const;
};

// MaxPooling1D/2D and AveragePooling1D/2D (Keras: strides default to pool_size; padding
// "same" pads so the output is ceil(in / stride); average pooling ignores the padding).
class Pooling : public Module {
 public:
  enum class Kind { Max, Avg };

 protected:
  Pooling(const char* type, const char* base, int rank, Kind kind, Size2 pool, const PoolOptions& o);
  Tensor pool_forward(const Tensor& x);
  int rank_;
  Kind kind_;
  Size2 pool_;
  PoolOptions options_;
};

#define TAPEFLOW_POOL_LAYER(Name, rank, kind, SizeT)                                                     \
  class Name : public Cloneable<Name, Pooling> {                                                          \
   public:                                                                                                \
    explicit Name(SizeT pool_size = 2, const PoolOptions& options = PoolOptions());                      \
    Tensor forward(const Tensor& x) override { return pool_forward(x); }                                 \
    std::shared_ptr<Name> fresh() const { return std::make_shared<Name>(fresh_size(), options_); }       \
                                                                                                          \
   private:                                                                                               \
    SizeT fresh_size() const;                                                                             \
  };
TAPEFLOW_POOL_LAYER(MaxPooling2D, 2, Max, Size2)
TAPEFLOW_POOL_LAYER(AveragePooling2D, 2, Avg, Size2)
TAPEFLOW_POOL_LAYER(MaxPooling1D, 1, Max, int64_t)
TAPEFLOW_POOL_LAYER(AveragePooling1D, 1, Avg, int64_t)
#undef TAPEFLOW_POOL_LAYER

// (N, C, H, W) -> (N, C): the mean / max over H and W (channels_last: (N, H, W, C) -> (N, C)).
class GlobalAveragePooling2D : public Cloneable<GlobalAveragePooling2D> {
 public:
  explicit GlobalAveragePooling2D(const PoolOptions& options = PoolOptions());
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<GlobalAveragePooling2D> fresh() const { return std::make_shared<GlobalAveragePooling2D>(options_); }

 private:
  PoolOptions options_;
};
class GlobalMaxPooling2D : public Cloneable<GlobalMaxPooling2D> {
 public:
  explicit GlobalMaxPooling2D(const PoolOptions& options = PoolOptions());
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<GlobalMaxPooling2D> fresh() const { return std::make_shared<GlobalMaxPooling2D>(options_); }

 private:
  PoolOptions options_;
};

}  // namespace tapeflow::nn
