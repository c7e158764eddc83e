// Keras recurrent layers SimpleRNN, LSTM and GRU with PyTorch's weights and math
// (torch.nn.RNN / LSTM / GRU with batch_first=True, one layer): inputs (N, T, features),
// parameters weight_ih (G*units, features), weight_hh (G*units, units), bias_ih, bias_hh
// (G*units each) with G = 1 / 4 (gates i, f, g, o) / 3 (gates r, z, n), drawn like PyTorch
// from U(-1/sqrt(units), 1/sqrt(units)). Parameter count G*(units*(features+units) + 2*units)
// = PyTorch's; Keras's LSTM keeps one bias (4*(units*(features+units) + units)) and its GRU
// (reset_after=True) two, as here. Each step is one fused cell op (nn_ops.h): one gemm per
// input for all the gates.
//
//   nn::LSTM(64, nn::RNNOptions().return_sequences(true).return_state(true))
//   auto outs = lstm.forward(x, h0, c0);   // initial state optional
//
// forward returns the last output (N, units), or all outputs (N, T, units) with
// return_sequences; with return_state the final states follow ([out, h] or [out, h, c]).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/cloneable.h"
#include "nn/layers.h"

namespace tapeflow::nn {

struct RNNOptions {
 public:
#define TAPEFLOW_RNN_ARG(T, name, init)         \
  RNNOptions& name(T v) {                       \
    name##_ = std::move(v);                     \
    return *this;                               \
  }                                             \
  const T& name() const { return name##_; }
  TAPEFLOW_RNN_ARG(bool, return_sequences, false)
  TAPEFLOW_RNN_ARG(bool, return_state, false)
  TAPEFLOW_RNN_ARG(bool, go_backwards, false)  // reads the sequence last step first
  TAPEFLOW_RNN_ARG(int64_t, input_dim, 0)      // 0: inferred on the first call
  TAPEFLOW_RNN_ARG(std::string, name, "")
#undef TAPEFLOW_RNN_ARG
 private:
  bool return_sequences_ = false, return_state_ = false, go_backwards_ = false;
  int64_t input_dim_ = 0;
  std::string name_;
};

class RNNBase : public Module {
 public:
  enum class Kind { Simple, LSTM, GRU };
  int64_t units() const { return units_; }
  Kind kind() const { return kind_; }
  const RNNOptions& options() const { return options_; }
  bool built() const override { return w_ih_.defined(); }
  void build_for(int64_t input_dim);
  // A new unbuilt layer of the same kind and options (go_backwards as given).
  std::shared_ptr<RNNBase> make_like(bool go_backwards) const;
  int gates() const { return kind_ == Kind::LSTM ? 4 : kind_ == Kind::GRU ? 3 : 1; }
  // The whole run: x (N, T, F), h0 / c0 (N, units) or undefined (zeros).
  ModuleOutput run(const Tensor& x, const Tensor& h0, const Tensor& c0);

 protected:
  RNNBase(const char* type, const char* base, Kind kind, int64_t units, const RNNOptions& o);
  void prepare_clone_from(const Module& src) override;
  Kind kind_;
  int64_t units_;
  RNNOptions options_;
  Tensor w_ih_, w_hh_, b_ih_, b_hh_;
};

#define TAPEFLOW_RNN_LAYER(Name)                                                                         \
  class Name : public Cloneable<Name, RNNBase> {                                                          \
   public:                                                                                                \
    explicit Name(int64_t units, const RNNOptions& options = RNNOptions());                              \
    ModuleOutput forward(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor()) {    \
      return run(x, h0, c0);                                                                             \
    }                                                                                                     \
    std::shared_ptr<Name> fresh() const { return std::make_shared<Name>(units_, options_); }             \
  };
TAPEFLOW_RNN_LAYER(SimpleRNN)
TAPEFLOW_RNN_LAYER(LSTM)
TAPEFLOW_RNN_LAYER(GRU)
#undef TAPEFLOW_RNN_LAYER

// Bidirectional(layer): runs `layer` forward and a copy of it (fresh weights, go_backwards)
// backward over the sequence and concatenates their outputs on the last axis (Keras's
// merge_mode "concat"; the backward sequence is put back in time order). Children
// "forward_layer" and "backward_layer". Initial states and return_state in Keras's order:
//   bi(x)                          // [output]
//   bi(x, fh, fc, bh, bc)          // LSTM: forward (h, c) then backward (h, c); GRU /
//                                  // SimpleRNN: bi(x, fh, bh); every state (N, units)
// with return_state: [output, forward states..., backward states...] (LSTM: 5 outputs).
class Bidirectional : public Cloneable<Bidirectional> {
 public:
  explicit Bidirectional(std::shared_ptr<RNNBase> layer);
  ModuleOutput forward(const Tensor& x, const Tensor& s1 = Tensor(), const Tensor& s2 = Tensor(),
                       const Tensor& s3 = Tensor(), const Tensor& s4 = Tensor());
  std::shared_ptr<Bidirectional> fresh() const;
  const std::shared_ptr<RNNBase>& forward_layer() const { return fwd_; }
  const std::shared_ptr<RNNBase>& backward_layer() const { return bwd_; }

 private:
  std::shared_ptr<RNNBase> fwd_, bwd_;
};

// Keras's RepeatVector(n): (N, F) -> (N, n, F) (the encoder-decoder bridge).
class RepeatVector : public Cloneable<RepeatVector> {
 public:
  explicit RepeatVector(int64_t n);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<RepeatVector> fresh() const { return std::make_shared<RepeatVector>(n_); }

 private:
  int64_t n_;
};

}  // namespace tapeflow::nn
