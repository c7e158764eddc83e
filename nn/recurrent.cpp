// SimpleRNN / LSTM / GRU: a loop over time steps of the fused cells of tensor/nn_ops.h.
#include "nn/recurrent.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

RNNBase::RNNBase(const char* type, const char* base, Kind kind, int64_t units, const RNNOptions& o)
    : Module(type, base), kind_(kind), units_(units), options_(o) {
  if (units <= 0) fail(type, ": units must be positive, got ", units);
  if (o.input_dim() < 0) fail(type, ": input_dim must be positive, got ", o.input_dim());
  if (!o.name().empty()) set_name(o.name());
}

void RNNBase::build_for(int64_t in) {
  if (built()) return;
  if (in <= 0) fail(type_name(), ": input dim must be positive, got ", in);
  NoGradGuard no_grad;
  tapeflow::Options o(dtype(), device());
  const double k = 1.0 / std::sqrt((double)units_);
  const int64_t g = gates() * units_;
  w_ih_ = register_parameter("weight_ih", uniform(Shape{g, in}, -k, k, o));
  w_hh_ = register_parameter("weight_hh", uniform(Shape{g, units_}, -k, k, o));
  b_ih_ = register_parameter("bias_ih", uniform(Shape{g}, -k, k, o));
  b_hh_ = register_parameter("bias_hh", uniform(Shape{g}, -k, k, o));
}

void RNNBase::prepare_clone_from(const Module& src) {
  auto* r = dynamic_cast<const RNNBase*>(&src);
  if (r && r->built() && !built()) build_for(r->w_ih_.size(1));
}

ModuleOutput RNNBase::run(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  if (x.dim() != 3) fail(type_name(), ": expected a 3-D input (batch, timesteps, features), got shape ", x.shape());
  const int64_t n = x.size(0), steps = x.size(1), in = x.size(2);
  if (steps == 0) fail(type_name(), ": input shape ", x.shape(), " has no time steps");
  if (built() && in != w_ih_.size(1))
    fail(type_name(), "(", units_, "): input shape ", x.shape(), " has ", in, " features, the layer was built for ",
         w_ih_.size(1));
  const Shape state{n, units_};
  auto check_state = [&](const Tensor& s, const char* what) {
    if (s.defined() && s.shape() != state)
      fail(type_name(), ": initial ", what, " state has shape ", s.shape(), ", expected ", state, " for input ",
           x.shape());
  };
  check_state(h0, "hidden");
  check_state(c0, "cell");
  if (c0.defined() && kind_ != Kind::LSTM) fail(type_name(), ": only LSTM takes a cell state");
  if (!built()) build_for(in > 0 ? in : options_.input_dim());
  if (autograd::tracing()) {  // the steps are not traced: the layer reports itself whole
    ModuleOutput r;
    {
      autograd::TraceGuard off(nullptr);
      r = run(x, h0, c0);
    }
    for (size_t i = 0; i < r.size(); ++i)
      autograd::trace("rnn", {x, h0, c0, w_ih_, w_hh_, b_ih_, b_hh_}, r[i],
                      {{"kind", {(int64_t)kind_}}, {"output", {(int64_t)i}},
                       {"return_sequences", {options_.return_sequences()}},
                       {"go_backwards", {options_.go_backwards()}}});
    return r;
  }
  Tensor xs = x.dtype() == w_ih_.dtype() ? x : x.astype(w_ih_.dtype());
  tapeflow::Options o(w_ih_.dtype(), w_ih_.device());
  Tensor h = h0.defined() ? h0.astype(w_ih_.dtype()) : zeros(state, o);
  Tensor c = kind_ == Kind::LSTM ? (c0.defined() ? c0.astype(w_ih_.dtype()) : zeros(state, o)) : Tensor();
  std::vector<Tensor> outs;
  if (options_.return_sequences()) outs.reserve(steps);
  for (int64_t s = 0; s < steps; ++s) {
    Tensor xt = xs.select(1, options_.go_backwards() ? steps - 1 - s : s);
    if (kind_ == Kind::LSTM) {
      auto hc = lstm_cell(xt, {h, c}, w_ih_, w_hh_, b_ih_, b_hh_);
      h = hc.first;
      c = hc.second;
    } else if (kind_ == Kind::GRU) {
      h = gru_cell(xt, h, w_ih_, w_hh_, b_ih_, b_hh_);
    } else {
      h = simple_rnn_cell(xt, h, w_ih_, w_hh_, b_ih_, b_hh_);
    }
    if (options_.return_sequences()) outs.push_back(h);
  }
  std::vector<Tensor> result{options_.return_sequences() ? stack(outs, 1) : h};
  if (options_.return_state()) {
    result.push_back(h);
    if (kind_ == Kind::LSTM) result.push_back(c);
  }
  return ModuleOutput(std::move(result));
}

SimpleRNN::SimpleRNN(int64_t units, const RNNOptions& options)
    : Cloneable("SimpleRNN", "simple_rnn", Kind::Simple, units, options) {}
LSTM::LSTM(int64_t units, const RNNOptions& options) : Cloneable("LSTM", "lstm", Kind::LSTM, units, options) {}
GRU::GRU(int64_t units, const RNNOptions& options) : Cloneable("GRU", "gru", Kind::GRU, units, options) {}

std::shared_ptr<RNNBase> RNNBase::make_like(bool go_backwards) const {
  RNNOptions o = RNNOptions(options_).go_backwards(go_backwards).name("");
  if (kind_ == Kind::LSTM) return std::make_shared<LSTM>(units_, o);
  if (kind_ == Kind::GRU) return std::make_shared<GRU>(units_, o);
  return std::make_shared<SimpleRNN>(units_, o);
}

Bidirectional::Bidirectional(std::shared_ptr<RNNBase> layer) : Cloneable("Bidirectional", "bidirectional") {
  if (!layer) fail("Bidirectional: the layer is null");
  fwd_ = register_module("forward_layer", layer);
  bwd_ = register_module("backward_layer", layer->make_like(!layer->options().go_backwards()));
}

std::shared_ptr<Bidirectional> Bidirectional::fresh() const {
  return std::make_shared<Bidirectional>(fwd_->make_like(fwd_->options().go_backwards()));
}

ModuleOutput Bidirectional::forward(const Tensor& x, const Tensor& s1, const Tensor& s2, const Tensor& s3,
                                    const Tensor& s4) {
  if (x.dim() != 3) fail("Bidirectional: expected a 3-D input (batch, timesteps, features), got shape ", x.shape());
  const bool lstm = fwd_->kind() == RNNBase::Kind::LSTM;
  const int given = s1.defined() + s2.defined() + s3.defined() + s4.defined();
  const int want = lstm ? 4 : 2;
  if (given != 0 && (given != want || (!lstm && (s3.defined() || s4.defined()))))
    fail("Bidirectional(", fwd_->type_name(), "): expected ", want, " initial states (",
         lstm ? "forward h, c, backward h, c" : "forward h, backward h", "), got ", given);
  const Shape state{x.size(0), fwd_->units()};
  for (const Tensor* t : {&s1, &s2, &s3, &s4})  // checked before either direction runs (or builds)
    if (t->defined() && t->shape() != state)
      fail("Bidirectional(", fwd_->type_name(), "): initial state of shape ", t->shape(), ", expected ", state,
           " for input ", x.shape());
  if (autograd::tracing()) {  // reported whole (the parts are not traced), one report per output
    ModuleOutput r;
    {
      autograd::TraceGuard off(nullptr);
      r = forward(x, s1, s2, s3, s4);
    }
    auto p = fwd_->named_parameters(), q = bwd_->named_parameters();  // weight_ih, weight_hh, bias_ih, bias_hh
    for (size_t i = 0; i < r.size(); ++i)
      autograd::trace("bidirectional", {x, p[0].second, p[1].second, p[2].second, p[3].second, q[0].second,
                                        q[1].second, q[2].second, q[3].second, s1, s2, s3, s4}, r[i],
                      {{"kind", {(int64_t)fwd_->kind()}}, {"return_sequences", {fwd_->options().return_sequences()}},
                       {"go_backwards", {fwd_->options().go_backwards()}}, {"output", {(int64_t)i}},
                       {"initial_states", {(int64_t)given}}});
    return r;
  }
  ModuleOutput f = lstm ? fwd_->run(x, s1, s2) : fwd_->run(x, s1, Tensor());
  ModuleOutput b = lstm ? bwd_->run(x, s3, s4) : bwd_->run(x, s2, Tensor());
  Tensor fo = f[0], bo = b[0];
  if (fwd_->options().return_sequences()) {  // the backward outputs come last step first
    const int64_t steps = x.size(1);
    std::vector<int64_t> rev(steps);
    for (int64_t i = 0; i < steps; ++i) rev[i] = steps - 1 - i;
    bo = index_select(bo, 1, from_vector(rev).to(bo.device()));
  }
  std::vector<Tensor> out{concat({fo, bo}, -1)};
  for (size_t i = 1; i < f.size(); ++i) out.push_back(f[i]);
  for (size_t i = 1; i < b.size(); ++i) out.push_back(b[i]);
  return ModuleOutput(std::move(out));
}

RepeatVector::RepeatVector(int64_t n) : Cloneable("RepeatVector", "repeat_vector"), n_(n) {
  if (n <= 0) fail("RepeatVector: n must be positive, got ", n);
}

Tensor RepeatVector::forward(const Tensor& x) {
  if (x.dim() != 2) fail("RepeatVector: expected a 2-D input (batch, features), got shape ", x.shape());
  return x.unsqueeze(1).expand(Shape{x.size(0), n_, x.size(1)});
}

}  // namespace tapeflow::nn
