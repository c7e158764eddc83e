// MultiHeadAttention (Dense projections + fused scaled_dot_product_attention) and the encoder block.
#include "nn/attention.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

MultiHeadAttention::MultiHeadAttention(int64_t num_heads, int64_t key_dim, const AttentionOptions& options)
    : Cloneable("MultiHeadAttention", "multi_head_attention"), heads_(num_heads), key_dim_(key_dim),
      options_(options) {
  if (num_heads <= 0 || key_dim <= 0)
    fail("MultiHeadAttention: num_heads and key_dim must be positive, got ", num_heads, " and ", key_dim);
  if (!options.name().empty()) set_name(options.name());
  q_ = register_module("query", std::make_shared<Dense>(num_heads * key_dim));
  k_ = register_module("key", std::make_shared<Dense>(num_heads * key_dim));
  v_ = register_module("value", std::make_shared<Dense>(num_heads * key_dim));
  drop_ = register_module("dropout", std::make_shared<Dropout>(options.dropout()));
}

std::shared_ptr<MultiHeadAttention> MultiHeadAttention::fresh() const {
  auto m = std::make_shared<MultiHeadAttention>(heads_, key_dim_, options_);
  if (out_) m->out_ = m->register_module("output", std::make_shared<Dense>(out_dim_));
  m->out_dim_ = out_dim_;
  return m;
}

Tensor MultiHeadAttention::forward(const Tensor& query, const Tensor& value, const Tensor& key,
                                   const Tensor& mask) {
  return forward(query, value, key, mask, false)[0];
}

ModuleOutput MultiHeadAttention::forward(const Tensor& query, const Tensor& value_in, const Tensor& key_in,
                                         const Tensor& mask, bool return_scores) {
  const Tensor& value = value_in.defined() ? value_in : query;
  const Tensor& key = key_in.defined() ? key_in : value;
  if (query.dim() != 3 || value.dim() != 3 || key.dim() != 3)
    fail("MultiHeadAttention: expected 3-D query, value and key (batch, seq, features), got shapes ", query.shape(),
         ", ", value.shape(), ", ", key.shape());
  if (value.size(0) != query.size(0) || key.size(0) != query.size(0) || key.size(1) != value.size(1))
    fail("MultiHeadAttention: query ", query.shape(), ", value ", value.shape(), " and key ", key.shape(),
         " do not agree on batch and sequence sizes");
  if (out_ && query.size(2) != out_dim_)
    fail("MultiHeadAttention: query shape ", query.shape(), " has ", query.size(2),
         " features, the layer was built for ", out_dim_);
  if (options_.use_causal_mask() && mask.defined())
    fail("MultiHeadAttention: give either use_causal_mask or a mask, not both (mask shape ", mask.shape(), ")");
  const int64_t n = query.size(0), l = query.size(1), s = key.size(1);
  if (mask.defined() && !(mask.dim() == 2 && mask.shape() == Shape{l, s}) &&
      !(mask.dim() == 3 && (mask.size(0) == n || mask.size(0) == 1) && mask.size(1) == l && mask.size(2) == s))
    fail("MultiHeadAttention: mask of shape ", mask.shape(), " must be (", l, ", ", s, ") or (", n, ", ", l, ", ",
         s, ") for query ", query.shape(), " and key ", key.shape());
  auto heads = [&](const Tensor& t, int64_t len) {
    return t.reshape(Shape{n, len, heads_, key_dim_}).permute({0, 2, 1, 3});
  };
  Tensor q = heads((*q_)(query), l), k = heads((*k_)(key), s), v = heads((*v_)(value), s);
  Tensor m = mask;
  if (m.defined() && m.dim() == 3) m = m.unsqueeze(1);  // (N, 1, L, S): every head
  Tensor a, scores;
  if (!return_scores) {
    a = scaled_dot_product_attention(q, k, v, m, options_.use_causal_mask() && !m.defined());
  } else {  // the same math unfused, keeping the softmax weights
    Tensor w = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt((double)key_dim_));
    Tensor allowed;
    if (options_.use_causal_mask()) allowed = tril(ones(Shape{l, s}, tapeflow::Options(w.dtype(), w.device()))).astype(kBool);
    else if (m.defined() && m.dtype() == kBool) allowed = m;
    else if (m.defined()) w = w + m.astype(w.dtype());
    if (allowed.defined()) {  // a finite fill keeps a fully masked row finite; it is zeroed below
      Tensor blocked = logical_not(allowed);
      scores = masked_fill(softmax(masked_fill(w, blocked, -1e30), -1), blocked, 0.0);
    } else {
      scores = softmax(w, -1);
    }
    a = matmul(scores, v);
  }
  a = a.permute({0, 2, 1, 3}).reshape(Shape{n, l, heads_ * key_dim_});
  if (!out_) {  // built on the first call: the output has the query's features (Keras)
    out_dim_ = query.size(2);
    out_ = register_module("output", std::make_shared<Dense>(out_dim_));
    out_->to(device());
    out_->to(dtype());
  }
  Tensor y = (*drop_)((*out_)(a));
  if (!return_scores) return ModuleOutput(y);
  return ModuleOutput(std::vector<Tensor>{y, scores});
}

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t num_heads, int64_t dff,
                                                 const AttentionOptions& options)
    : Cloneable("TransformerEncoderLayer", "transformer_encoder_layer"), d_model_(d_model), heads_(num_heads),
      dff_(dff), options_(options) {
  if (d_model <= 0 || num_heads <= 0 || dff <= 0 || d_model % num_heads != 0)
    fail("TransformerEncoderLayer: d_model, num_heads and dff must be positive and num_heads must divide d_model, got ",
         d_model, ", ", num_heads, ", ", dff);
  if (!options.name().empty()) set_name(options.name());
  attn_ = register_module("attention", std::make_shared<MultiHeadAttention>(
                                           num_heads, d_model / num_heads, AttentionOptions(options).dropout(0).name("")));
  ff1_ = register_module("ff1", std::make_shared<Dense>(dff, "relu", true, "glorot_uniform", "zeros", d_model));
  ff2_ = register_module("ff2", std::make_shared<Dense>(d_model, "linear", true, "glorot_uniform", "zeros", dff));
  norm1_ = register_module("norm1", std::make_shared<LayerNormalization>(NormOptions().epsilon(1e-5)));
  norm2_ = register_module("norm2", std::make_shared<LayerNormalization>(NormOptions().epsilon(1e-5)));
  norm1_->build_for(d_model);
  norm2_->build_for(d_model);
  drop_ = register_module("dropout", std::make_shared<Dropout>(options.dropout()));
  drop1_ = register_module("dropout1", std::make_shared<Dropout>(options.dropout()));
  drop2_ = register_module("dropout2", std::make_shared<Dropout>(options.dropout()));
  // The attention's projections are built now too, so parameters() works before the first call.
  NoGradGuard no_grad;
  attn_->forward(tapeflow::zeros(Shape{1, 1, d_model}));
}

std::shared_ptr<TransformerEncoderLayer> TransformerEncoderLayer::fresh() const {
  return std::make_shared<TransformerEncoderLayer>(d_model_, heads_, dff_, options_);
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& mask) {
  if (x.dim() != 3 || x.size(2) != d_model_)
    fail("TransformerEncoderLayer: expected an input (batch, seq, ", d_model_, "), got shape ", x.shape());
  auto sa = [&](const Tensor& t) { return (*drop1_)((*attn_).forward(t, t, t, mask)); };
  auto ff = [&](const Tensor& t) { return (*drop2_)((*ff2_)((*drop_)((*ff1_)(t)))); };
  if (options_.norm_first()) {
    Tensor h = x + sa((*norm1_)(x));
    return h + ff((*norm2_)(h));
  }
  Tensor h = (*norm1_)(x + sa(x));
  return (*norm2_)(h + ff(h));
}

}  // namespace tapeflow::nn
