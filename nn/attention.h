// Keras MultiHeadAttention and a PyTorch TransformerEncoderLayer-style block.
//
// MultiHeadAttention(num_heads, key_dim): child Dense layers "query", "key", "value"
// (features -> num_heads*key_dim, with bias) and "output" (num_heads*key_dim -> the query's
// features), as Keras; scaled dot-product attention per head with scale 1/sqrt(key_dim).
//   mha(query, value)            // key = value (Keras's call order)
//   mha.forward(q, v, k, mask)   // mask (L, S) or (N, L, S): bool, true = may attend
//   mha(q, v, k, mask, true)     // Keras's return_attention_scores=True: ModuleOutput
//                                // [output (N, L, E), scores (N, num_heads, L, S)]
// The scores are the softmax weights (a row with every position masked: zeros, as the fused
// attention gives).
// options: use_causal_mask (position i attends to j <= i), dropout (on the attention output).
//
// TransformerEncoderLayer(d_model, num_heads, dff): PyTorch's post-norm encoder layer
//   x = norm1(x + dropout(attention(x))); x = norm2(x + dropout(ff(x))), ff = Dense(dff, relu)
//   -> Dropout -> Dense(d_model); LayerNormalization epsilon 1e-5 (PyTorch's). norm_first(true)
//   gives the pre-norm variant x = x + attention(norm1(x)); x = x + ff(norm2(x)).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/cloneable.h"
#include "nn/layers.h"
#include "nn/norm_layers.h"

namespace tapeflow::nn {

struct AttentionOptions {
#define TAPEFLOW_ATT_ARG(T, name)             \
  AttentionOptions& name(T v) {               \
    name##_ = std::move(v);                   \
    return *this;                             \
  }                                           \
  const T& name() const { return name##_; }
  TAPEFLOW_ATT_ARG(bool, use_causal_mask)
  TAPEFLOW_ATT_ARG(double, dropout)
  TAPEFLOW_ATT_ARG(bool, norm_first)  // TransformerEncoderLayer only
  TAPEFLOW_ATT_ARG(std::string, name)
#undef TAPEFLOW_ATT_ARG
 private:
  bool use_causal_mask_ = false;
  double dropout_ = 0.0;
  bool norm_first_ = false;
  std::string name_;
};

class MultiHeadAttention : public Cloneable<MultiHeadAttention> {
 public:
  MultiHeadAttention(int64_t num_heads, int64_t key_dim, const AttentionOptions& options = AttentionOptions());
  Tensor forward(const Tensor& query, const Tensor& value = Tensor(), const Tensor& key = Tensor(),
                 const Tensor& mask = Tensor());
  ModuleOutput forward(const Tensor& query, const Tensor& value, const Tensor& key, const Tensor& mask,
                       bool return_attention_scores);
  std::shared_ptr<MultiHeadAttention> fresh() const;
  int64_t num_heads() const { return heads_; }
  int64_t key_dim() const { return key_dim_; }

 private:
  int64_t heads_, key_dim_;
  AttentionOptions options_;
  std::shared_ptr<Dense> q_, k_, v_, out_;
  std::shared_ptr<Dropout> drop_;
  int64_t out_dim_ = 0;
};

class TransformerEncoderLayer : public Cloneable<TransformerEncoderLayer> {
 public:
  TransformerEncoderLayer(int64_t d_model, int64_t num_heads, int64_t dff,
                          const AttentionOptions& options = AttentionOptions());
  Tensor forward(const Tensor& x, const Tensor& mask = Tensor());
  std::shared_ptr<TransformerEncoderLayer> fresh() const;

 private:
  int64_t d_model_, heads_, dff_;
  AttentionOptions options_;
  std::shared_ptr<MultiHeadAttention> attn_;
  std::shared_ptr<Dense> ff1_, ff2_;
  std::shared_ptr<LayerNormalization> norm1_, norm2_;
  std::shared_ptr<Dropout> drop_, drop1_, drop2_;
};

}  // namespace tapeflow::nn
