// LayerNormalization, BatchNormalization, Embedding on the fused ops of tensor/nn_ops.h.
#include "nn/norm_layers.h"

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

namespace {
void check_eps(const char* who, const NormOptions& o) {
  if (!(o.epsilon() > 0)) fail(who, ": epsilon must be positive, got ", o.epsilon());
}
}  // namespace

LayerNormalization::LayerNormalization(const NormOptions& options)
    : Cloneable("LayerNormalization", "layer_normalization"), options_(options) {
  check_eps("LayerNormalization", options);
  if (!options.name().empty()) set_name(options.name());
}

void LayerNormalization::build_for(int64_t f) {
  if (built_) return;
  NoGradGuard no_grad;
  tapeflow::Options o(dtype(), device());
  features_ = f;
  if (options_.scale()) gamma_ = register_parameter("gamma", ones(Shape{f}, o));
  if (options_.center()) beta_ = register_parameter("beta", zeros(Shape{f}, o));
  built_ = true;
}

void LayerNormalization::prepare_clone_from(const Module& src) {
  auto* l = dynamic_cast<const LayerNormalization*>(&src);
  if (l && l->built_ && !built_) build_for(l->features_);
}

Tensor LayerNormalization::forward(const Tensor& x) {
  if (x.dim() < 1) fail("LayerNormalization: input must have at least one dim, got shape ", x.shape());
  if (built_ && x.size(-1) != features_)
    fail("LayerNormalization: input shape ", x.shape(), " has ", x.size(-1), " features, the layer was built for ",
         features_);
  if (!built_) build_for(x.size(-1));
  Tensor xc = x.dtype() == dtype() ? x : x.astype(dtype());
  return layer_norm(xc, {features_}, gamma_, beta_, options_.epsilon());
}

BatchNormalization::BatchNormalization(const NormOptions& options)
    : Cloneable("BatchNormalization", "batch_normalization"), options_(options) {
  check_eps("BatchNormalization", options);
  if (!(options.momentum() >= 0 && options.momentum() <= 1))
    fail("BatchNormalization: momentum must be in [0, 1], got ", options.momentum());
  if (!options.name().empty()) set_name(options.name());
}

void BatchNormalization::build_for(int64_t c) {
  if (built_) return;
  NoGradGuard no_grad;
  tapeflow::Options o(dtype(), device());
  channels_ = c;
  if (options_.scale()) gamma_ = register_parameter("gamma", ones(Shape{c}, o));
  if (options_.center()) beta_ = register_parameter("beta", zeros(Shape{c}, o));
  mean_ = register_buffer("moving_mean", zeros(Shape{c}, o));
  var_ = register_buffer("moving_variance", ones(Shape{c}, o));
  built_ = true;
}

void BatchNormalization::prepare_clone_from(const Module& src) {
  auto* b = dynamic_cast<const BatchNormalization*>(&src);
  if (b && b->built_ && !built_) build_for(b->channels_);
}

Tensor BatchNormalization::forward(const Tensor& x) {
  if (x.dim() < 2 || x.dim() > 5)
    fail("BatchNormalization: expected a 2-D to 5-D input (N, C, ...), got shape ", x.shape());
  if (built_ && x.size(1) != channels_)
    fail("BatchNormalization: input shape ", x.shape(), " has ", x.size(1), " channels, the layer was built for ",
         channels_);
  if (!built_) build_for(x.size(1));
  Tensor xc = x.dtype() == dtype() ? x : x.astype(dtype());
  // Keras momentum m keeps m of the old statistic: PyTorch's momentum is 1 - m.
  return batch_norm(xc, mean_, var_, gamma_, beta_, is_training(), 1.0 - options_.momentum(), options_.epsilon());
}

Embedding::Embedding(int64_t input_dim, int64_t output_dim, const std::string& name)
    : Cloneable("Embedding", "embedding"), input_dim_(input_dim), output_dim_(output_dim) {
  if (input_dim <= 0 || output_dim <= 0)
    fail("Embedding: input_dim and output_dim must be positive, got ", input_dim, " and ", output_dim);
  if (!name.empty()) set_name(name);
  NoGradGuard no_grad;
  table_ = register_parameter("embeddings", uniform(Shape{input_dim, output_dim}, -0.05, 0.05, tapeflow::Options(dtype())));
}

Tensor Embedding::forward(const Tensor& ids) {
  Tensor i = is_floating(ids.dtype()) ? ids.astype(kInt64) : ids;
  return embedding(i, table_);
}

}  // namespace tapeflow::nn
