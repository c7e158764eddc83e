// The sequence models of tests/onnx/export_cases.cpp (checked by ONNX Runtime) and of
// tests/test_onnx_seq.cpp (export -> import round trips): one small nn::Module per exportable
// sequence op or layer, plus the models of samples/addition_rnn and samples/tiny_transformer
// (built as the samples build them, at small sizes). Each takes one (batch, ...) input.
#pragma once
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tapeflow.h"

namespace seq_models {

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

// A module from a forward function over registered children (for the one-line cases).
struct Fn : nn::Module {
  std::function<tf::Tensor(Fn&, const tf::Tensor&)> f;
  explicit Fn(std::function<tf::Tensor(Fn&, const tf::Tensor&)> fn) : Module("SeqCase", "seq_case"), f(std::move(fn)) {}
  tf::Tensor forward(const tf::Tensor& x) override { return f(*this, x); }
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    register_module(name, m);
    return m;
  }
};

// samples/addition_rnn's Adder: LSTM encoder -> RepeatVector -> LSTM decoder (sequences) -> Dense.
inline std::shared_ptr<nn::Module> adder(int64_t hidden, int64_t answer_len, int64_t symbols) {
  auto m = std::make_shared<Fn>(nullptr);
  auto enc = m->add("encoder", std::make_shared<nn::LSTM>(hidden));
  auto rep = m->add("repeat", std::make_shared<nn::RepeatVector>(answer_len));
  auto dec = m->add("decoder", std::make_shared<nn::LSTM>(hidden, nn::RNNOptions().return_sequences(true)));
  auto out = m->add("out", std::make_shared<nn::Dense>(symbols));
  m->f = [=](Fn&, const tf::Tensor& x) { return (*out)((*dec)((*rep)((*enc)(x).tensor())).tensor()); };
  return m;
}

// samples/tiny_transformer's Sorter: Embedding * sqrt(d) + sinusoidal positions -> 2 causal
// pre-norm TransformerEncoderLayers -> LayerNormalization -> Dense(vocab).
inline std::shared_ptr<nn::Module> sorter(int64_t vocab, int64_t d, int64_t heads, int64_t dff, int64_t len) {
  auto m = std::make_shared<Fn>(nullptr);
  auto embed = m->add("embed", std::make_shared<nn::Embedding>(vocab, d));
  auto causal = nn::AttentionOptions().use_causal_mask(true).norm_first(true);
  auto b1 = m->add("block1", std::make_shared<nn::TransformerEncoderLayer>(d, heads, dff, causal));
  auto b2 = m->add("block2", std::make_shared<nn::TransformerEncoderLayer>(d, heads, dff, causal));
  auto norm = m->add("norm", std::make_shared<nn::LayerNormalization>(nn::NormOptions().epsilon(1e-5)));
  norm->build_for(d);
  auto head = m->add("head", std::make_shared<nn::Dense>(vocab, "linear", true, "glorot_uniform", "zeros", d));
  std::vector<float> pe(len * d);
  for (int64_t t = 0; t < len; ++t)
    for (int64_t i = 0; i < d; i += 2) {
      double a = (double)t / std::pow(10000.0, (double)i / d);
      pe[t * d + i] = (float)std::sin(a);
      pe[t * d + i + 1] = (float)std::cos(a);
    }
  tf::Tensor pos = m->register_buffer("positional_encoding", tf::from_vector(pe, tf::Shape{1, len, d}));
  double scale = std::sqrt((double)d);
  m->f = [=](Fn&, const tf::Tensor& tokens) {
    tf::Tensor h = (*embed)(tokens) * scale + pos.narrow(1, 0, tokens.size(1));
    return (*head)((*norm)((*b2)((*b1)(h))));
  };
  return m;
}

struct Case {
  std::string name;
  tf::Shape sample;  // input shape without the batch dim
  std::function<std::shared_ptr<nn::Module>()> make;
  double ids = 0;    // > 0: the input holds integer ids in [0, ids) (Embedding inputs)
  bool any_length = false;  // dim 1 (time) may change too (one ONNX recurrent node, no fixed reshapes)
};

inline std::shared_ptr<nn::Module> one(std::shared_ptr<nn::Module> layer) {
  auto m = std::make_shared<Fn>(nullptr);
  m->add("layer", layer);
  m->f = [layer](Fn&, const tf::Tensor& x) { return (*layer)(x); };
  return m;
}

inline std::vector<Case> cases() {
  using tf::Tensor;
  std::vector<Case> c;
  c.push_back({"embedding", {5}, [] { return one(std::make_shared<nn::Embedding>(10, 4)); }, 10});
  c.push_back({"layer_norm", {4, 6}, [] { return one(std::make_shared<nn::LayerNormalization>()); }});
  c.push_back({"masked_fill_tril_triu", {4, 4}, [] {
                 return std::make_shared<Fn>([](Fn&, const Tensor& x) {
                   Tensor mask = tf::gt(tf::from_vector(std::vector<float>{0, 1, 0, 1}), 0.5);  // (4,) on the last dim
                   return tf::masked_fill(x, mask, -2.5) + tf::tril(x) + tf::triu(x, 1) * 2.0 + tf::tril(x, -1);
                 });
               }});
  c.push_back({"einsum", {3, 4}, [] {
                 auto m = std::make_shared<Fn>(nullptr);
                 Tensor w = m->register_parameter("w", tf::uniform({4, 5}, -1, 1));
                 m->f = [w](Fn&, const Tensor& x) {
                   return tf::concat({tf::einsum("bij,jk->bik", x, w), tf::einsum("bij,bkj->bik", x, x),
                                      tf::einsum("bij->bji", x).reshape(tf::Shape{-1, 3, 4})},
                                     -1);
                 };
                 return m;
               }});
  c.push_back({"sdpa_causal", {2, 5, 4}, [] {
                 return std::make_shared<Fn>([](Fn&, const Tensor& x) {
                   return tf::scaled_dot_product_attention(x, x * 0.5, x + 1.0, Tensor(), true);
                 });
               }});
  c.push_back({"sdpa_padding_mask", {2, 5, 4}, [] {
                 return std::make_shared<Fn>([](Fn&, const Tensor& x) {
                   // keys 3 and 4 are padding (false: may not attend), as a (L, S) bool mask
                   Tensor keep = tf::lt(tf::arange(5, tf::Options(tf::kInt64)), 3).unsqueeze(0).expand(tf::Shape{5, 5});
                   return tf::scaled_dot_product_attention(x, x, x, keep.contiguous());
                 });
               }});
  c.push_back({"sdpa_float_mask", {5, 4}, [] {
                 auto m = std::make_shared<Fn>(nullptr);
                 Tensor bias = m->register_buffer("bias", tf::uniform({5, 5}, -1, 1));  // added to the scores
                 m->f = [bias](Fn&, const Tensor& x) { return tf::scaled_dot_product_attention(x, x, x, bias); };
                 return m;
               }});
  c.push_back({"multi_head_attention", {5, 6}, [] { return one(std::make_shared<nn::MultiHeadAttention>(2, 3)); }});
  c.push_back({"multi_head_attention_causal", {5, 6}, [] {
                 return one(std::make_shared<nn::MultiHeadAttention>(3, 2, nn::AttentionOptions().use_causal_mask(true)));
               }});
  c.push_back({"transformer_encoder", {5, 8}, [] { return one(std::make_shared<nn::TransformerEncoderLayer>(8, 2, 16)); }});
  c.push_back({"transformer_encoder_prenorm_causal", {5, 8}, [] {
                 return one(std::make_shared<nn::TransformerEncoderLayer>(
                     8, 2, 16, nn::AttentionOptions().use_causal_mask(true).norm_first(true)));
               }});
  auto seq = nn::RNNOptions().return_sequences(true);
  c.push_back({"simple_rnn", {5, 3}, [] { return one(std::make_shared<nn::SimpleRNN>(4)); }, 0, true});
  c.push_back({"simple_rnn_sequences", {5, 3}, [=] { return one(std::make_shared<nn::SimpleRNN>(4, seq)); }, 0, true});
  c.push_back({"lstm", {5, 3}, [] { return one(std::make_shared<nn::LSTM>(4)); }, 0, true});
  c.push_back({"lstm_sequences", {5, 3}, [=] { return one(std::make_shared<nn::LSTM>(4, seq)); }, 0, true});
  c.push_back({"gru", {5, 3}, [] { return one(std::make_shared<nn::GRU>(4)); }, 0, true});
  c.push_back({"gru_sequences_backwards", {5, 3}, [=] {
                 return one(std::make_shared<nn::GRU>(4, nn::RNNOptions(seq).go_backwards(true)));
               }, 0, true});
  c.push_back({"lstm_backwards", {5, 3}, [] { return one(std::make_shared<nn::LSTM>(4, nn::RNNOptions().go_backwards(true))); }, 0, true});
  // return_state and an initial state: the encoder's final (h, c) start the decoder.
  c.push_back({"lstm_state_encoder_decoder", {5, 3}, [] {
                 auto m = std::make_shared<Fn>(nullptr);
                 auto enc = m->add("encoder", std::make_shared<nn::LSTM>(4, nn::RNNOptions().return_state(true)));
                 auto dec = m->add("decoder", std::make_shared<nn::LSTM>(4, nn::RNNOptions().return_sequences(true)));
                 m->f = [=](Fn&, const Tensor& x) {
                   auto s = enc->forward(x);
                   return tf::concat({dec->forward(x, s[1], s[2])[0], s[0].unsqueeze(1)}, 1);
                 };
                 return m;
               }, 0, true});
  c.push_back({"gru_state", {5, 3}, [] {
                 auto m = std::make_shared<Fn>(nullptr);
                 auto enc = m->add("encoder", std::make_shared<nn::GRU>(4, nn::RNNOptions().return_state(true)));
                 auto dec = m->add("decoder", std::make_shared<nn::GRU>(4));
                 m->f = [=](Fn&, const Tensor& x) { return dec->forward(x, enc->forward(x)[1])[0]; };
                 return m;
               }, 0, true});
  c.push_back({"bidirectional_lstm_sequences", {5, 3}, [=] {
                 return one(std::make_shared<nn::Bidirectional>(std::make_shared<nn::LSTM>(4, seq)));
               }, 0, true});
  c.push_back({"bidirectional_gru", {5, 3}, [] { return one(std::make_shared<nn::Bidirectional>(std::make_shared<nn::GRU>(4))); }, 0, true});
  c.push_back({"bidirectional_simple_rnn_sequences", {5, 3}, [=] {
                 return one(std::make_shared<nn::Bidirectional>(std::make_shared<nn::SimpleRNN>(4, seq)));
               }, 0, true});
  // Bidirectional with return_state and initial states (Keras's order): a bidirectional
  // encoder's final states start a bidirectional decoder; the output holds both.
  c.push_back({"bidirectional_lstm_state", {5, 3}, [] {
                 auto m = std::make_shared<Fn>(nullptr);
                 auto enc = m->add("encoder", std::make_shared<nn::Bidirectional>(
                                                  std::make_shared<nn::LSTM>(4, nn::RNNOptions().return_state(true))));
                 auto dec = m->add("decoder", std::make_shared<nn::Bidirectional>(std::make_shared<nn::LSTM>(4)));
                 m->f = [=](Fn&, const Tensor& x) {
                   auto s = enc->forward(x);
                   return tf::concat({dec->forward(x, s[1], s[2], s[3], s[4])[0], s[1], s[2], s[3], s[4]}, -1);
                 };
                 return m;
               }, 0, true});
  c.push_back({"bidirectional_gru_state", {5, 3}, [] {
                 auto m = std::make_shared<Fn>(nullptr);
                 auto enc = m->add("encoder", std::make_shared<nn::Bidirectional>(
                                                  std::make_shared<nn::GRU>(4, nn::RNNOptions().return_state(true))));
                 auto dec = m->add("decoder", std::make_shared<nn::Bidirectional>(std::make_shared<nn::GRU>(4)));
                 m->f = [=](Fn&, const Tensor& x) {
                   auto s = enc->forward(x);
                   return tf::concat({dec->forward(x, s[1], s[2])[0], s[1], s[2]}, -1);
                 };
                 return m;
               }, 0, true});
  c.push_back({"addition_rnn", {7, 12}, [] { return adder(16, 4, 12); }});
  c.push_back({"tiny_transformer", {6}, [] { return sorter(11, 16, 4, 32, 6); }, 11});
  return c;
}

// An example input: uniform(-3, 3), or integer ids as floats.
inline tf::Tensor example(const Case& c, int64_t batch, int64_t steps = 0) {
  tf::Shape s{batch};
  for (int64_t d : c.sample) s.push_back(d);
  if (steps) s[1] = steps;
  if (c.ids > 0) return tf::floor(tf::uniform(s, 0.0, c.ids - 1e-3));
  return tf::uniform(s, -3.0, 3.0);
}

}  // namespace seq_models
