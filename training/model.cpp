// Model: compile, the fit loop (validation split, shuffled batches, callbacks, progress),
// train_step, evaluate, predict and the Keras summary table.
#include "training/model.h"

#include <cmath>
#include <optional>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "data/dataset.h"
#include "training/distributed_fit.h"
#include "training/progress.h"
#include "training/weights.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::training {

OptimizerSpec::OptimizerSpec(const char* name) : ptr(optim::make_optimizer(name)) {}
OptimizerSpec::OptimizerSpec(const std::string& name) : ptr(optim::make_optimizer(name)) {}
LossSpec::LossSpec(const char* name) : ptr(get_loss(name)) {}
LossSpec::LossSpec(const std::string& name) : ptr(get_loss(name)) {}
MetricSpec::MetricSpec(const char* name) : ptr(get_metric(name)) {}
MetricSpec::MetricSpec(const std::string& name) : ptr(get_metric(name)) {}

namespace {

// Restores the training flag (and the output stream) when a call ends, even by an exception.
bool all_in_mode(const Module& m, bool training) {
  if (m.is_training() != training) return false;
  for (const auto& [name, child] : m.named_children())
    if (!all_in_mode(*child, training)) return false;
  return true;
}

// Sets the mode only when some module differs: predict() on a model already in eval mode then
// writes nothing, so several threads may call it on one shared model (issue 17).
struct ModeGuard {
  Module& m;
  bool was, set;
  explicit ModeGuard(Module& mod, bool training)
      : m(mod), was(mod.is_training()), set(!all_in_mode(mod, training)) {
    if (set) m.train(training);
  }
  ~ModeGuard() {
    if (set) m.train(was);
  }
};

void check_xy(const char* op, const std::vector<Tensor>& xs, const Tensor& y) {
  if (xs.empty()) fail(op, ": x is an empty list of inputs");
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    std::string which = xs.size() == 1 ? "x" : str_cat("x[", i, "]");
    if (!x.defined() || !y.defined()) fail(op, ": ", which, " and y must be defined tensors");
    if (x.dim() < 1 || y.dim() < 1)
      fail(op, ": ", which, " and y need a batch dim, got shapes ", x.shape(), " and ", y.shape());
    if (x.size(0) != y.size(0))
      fail(op, ": ", which, " has ", x.size(0), " samples (shape ", x.shape(), ") but y has ", y.size(0), " (shape ",
           y.shape(), ")");
  }
}

std::vector<Tensor> slice_all(const std::vector<Tensor>& xs, int64_t lo, int64_t hi = kEnd) {
  std::vector<Tensor> out;
  for (auto& x : xs) out.push_back(x.slice(0, lo, hi));
  return out;
}

std::vector<Tensor> to_device(const std::vector<Tensor>& xs, Device d) {
  std::vector<Tensor> out;
  for (auto& x : xs) out.push_back(x.to(d));
  return out;
}

}  // namespace

Model::Model(std::string type_name, std::string base_name) : Module(std::move(type_name), std::move(base_name)) {}

std::ostream& Model::out() const { return out_ ? *out_ : std::cout; }

void Model::require_compiled(const char* what) const {
  if (!compiled()) fail(what, ": the model must be compiled first (model.compile(optimizer, loss, metrics))");
}

void Model::compile(OptimizerSpec optimizer, LossSpec loss, std::vector<MetricSpec> metrics) {
  if (!optimizer.ptr) fail("compile: the optimizer is null");
  if (!loss.ptr) fail("compile: the loss is null");
  std::vector<std::shared_ptr<Metric>> ms;
  for (auto& m : metrics) {
    if (!m.ptr) fail("compile: a metric is null");
    if (m.ptr->name() == "loss") fail("compile: a metric may not be called 'loss'");
    for (auto& other : ms)
      if (other->name() == m.ptr->name()) fail("compile: metric '", m.ptr->name(), "' is given twice");
    ms.push_back(m.ptr);
  }
  optimizer_ = optimizer.ptr;
  loss_ = loss.ptr;
  metrics_ = std::move(ms);
  if (built() && optimizer_->params().empty()) optimizer_->add_params(parameters());
}

void Model::prepare_for(const std::vector<Tensor>& xs) {
  if (!built()) {
    std::vector<Shape> shapes;
    for (auto& x : xs) {
      Shape s = x.shape();
      s.erase(0);
      shapes.push_back(s);
    }
    if (shapes.size() == 1) build(shapes[0]);
    else build_inputs(shapes);
  }
  if (optimizer_ && optimizer_->params().empty()) optimizer_->add_params(parameters());
}

void Model::reset_metrics() {
  loss_tracker_.reset();
  for (auto& m : metrics_) m->reset();
}

Logs Model::metric_logs(const std::string& prefix) const {
  Logs logs;
  logs.set(prefix + "loss", loss_tracker_.result());
  for (auto& m : metrics_) logs.set(prefix + m->name(), m->result());
  return logs;
}

Tensor Model::forward_batch(const std::vector<Tensor>& xs) {
  return xs.size() == 1 ? (*this)(xs[0]) : call(xs).tensor();
}

Logs Model::train_step(const Tensor& x, const Tensor& y) { return train_step(std::vector<Tensor>{x}, y); }

Logs Model::train_step(const std::vector<Tensor>& x, const Tensor& y) {
  require_compiled("train_step");
  check_xy("train_step", x, y);
  prepare_for(x);
  train(true);
  optimizer_->zero_grad(true);
  Tensor pred = forward_batch(x);
  Tensor loss = (*loss_)(y, pred);
  if (loss.numel() != 1)
    fail("train_step: the loss must reduce to one value to train, got shape ", loss.shape(),
         " (use Reduction::Mean or Reduction::Sum)");
  loss.backward();
  if (before_step_) before_step_();
  optimizer_->step();
  NoGradGuard no_grad;
  loss_tracker_.add(loss.item<double>(), (double)y.size(0));
  Tensor p = pred.detach();
  for (auto& m : metrics_) m->update(y, p);
  return metric_logs();
}

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& o) {
  return fit(std::vector<Tensor>{x}, y, o);
}

History Model::fit(const std::vector<Tensor>& x, const Tensor& y, const FitOptions& o) {
  require_compiled("fit");
  check_xy("fit", x, y);
  if (o.batch_size <= 0) fail("fit: batch_size must be positive, got ", o.batch_size);
  if (o.epochs < 0 || o.initial_epoch < 0) fail("fit: epochs and initial_epoch must be non-negative");
  if (!(o.validation_split >= 0 && o.validation_split < 1))
    fail("fit: validation_split must be in [0, 1), got ", o.validation_split);
  if (o.verbose < 0 || o.verbose > 2) fail("fit: verbose must be 0, 1 or 2, got ", o.verbose);
  std::vector<Tensor> xt = x, xv;
  Tensor yt = y, yv;
  if (o.validation_data.first.defined() || o.validation_data.second.defined()) {
    if (x.size() != 1)
      fail("fit: validation_data holds one input tensor but the model is given ", x.size(),
           " inputs; use validation_split, or evaluate() on the validation inputs");
    xv = {o.validation_data.first};
    yv = o.validation_data.second;
    check_xy("fit(validation_data)", xv, yv);
  } else if (o.validation_split > 0) {
    // Keras: the last fraction of the data, before any shuffling.
    int64_t n = y.size(0);
    int64_t split_at = (int64_t)std::floor((double)n * (1.0 - o.validation_split));
    if (split_at <= 0 || split_at >= n)
      fail("fit: validation_split ", o.validation_split, " of ", n, " samples leaves an empty training or validation set");
    xt = slice_all(x, 0, split_at);
    yt = y.slice(0, 0, split_at);
    xv = slice_all(x, split_at);
    yv = y.slice(0, split_at);
  }
  prepare_for(xt);

  struct OutGuard {
    std::ostream*& slot;
    std::ostream* prev;
    ~OutGuard() { slot = prev; }
  } out_guard{out_, out_};
  out_ = o.out ? o.out : &std::cout;

  std::unique_ptr<DistributedFit> dist;
  if (o.distributed) dist = std::make_unique<DistributedFit>(*this, o);
  bool rank0 = !dist || dist->rank() == 0;
  uint64_t seed = o.seed >= 0 ? (uint64_t)o.seed
                              : (uint64_t)randint(0, INT32_MAX, Shape{1}).item<int64_t>();
  if (dist) seed = dist->agree_seed(seed);
  // Several inputs (or a rank's shard): the iterator batches sample indices, and each input is
  // gathered by them.
  bool by_index = xt.size() > 1 || dist;
  std::optional<data::BatchIterator> batches;
  if (!dist) batches.emplace(by_index ? arange(yt.size(0)) : xt[0], yt, o.batch_size, o.shuffle, seed);
  int64_t steps = dist ? dist->steps_per_epoch(yt.size(0), o.batch_size) : batches->num_batches();

  std::vector<std::shared_ptr<Callback>> callbacks;
  int verbose = rank0 ? o.verbose : 0;
  bool dynamic = o.progress == ProgressStyle::Bar || (o.progress == ProgressStyle::Auto && is_terminal(out()));
  if (verbose == 1) callbacks.push_back(std::make_shared<ProgbarLogger>(out(), dynamic));
  if (verbose == 2) callbacks.push_back(std::make_shared<ProgbarLogger>(out(), false));
  for (auto& c : o.callbacks) {
    if (!c) fail("fit: a callback is null");
    if (rank0 || !c->rank_zero_only()) callbacks.push_back(c);
  }
  auto history = std::make_shared<History>();
  callbacks.push_back(history);
  TrainParams params{o.epochs, steps, verbose};
  for (auto& c : callbacks) {
    c->set_model(this);
    c->set_params(params);
  }

  stop_training = false;
  Logs logs;
  for (auto& c : callbacks) c->on_train_begin(logs);
  for (int epoch = o.initial_epoch; epoch < o.epochs && !stop_training; ++epoch) {
    for (auto& c : callbacks) c->on_epoch_begin(epoch, Logs());
    reset_metrics();
    if (dist) {
      Tensor shard = dist->shard(yt.size(0), epoch, o.shuffle, seed);
      batches.emplace(shard, index_select(yt, 0, shard.to(yt.device())), dist->local_batch(o.batch_size), false, 0);
    }
    batches->start_epoch();
    Tensor xb, yb;
    for (int batch = 0; batches->next(xb, yb); ++batch) {
      for (auto& c : callbacks) c->on_train_batch_begin(batch, Logs());
      std::vector<Tensor> xs;
      if (!by_index) xs.push_back(xb.to(device()));
      else
        for (auto& xi : xt) xs.push_back(index_select(xi, 0, xb.to(xi.device())).to(device()));
      Logs running = train_step(xs, yb.to(device()));
      for (auto& c : callbacks) c->on_train_batch_end(batch, running);
    }
    logs = metric_logs();
    if (dist) dist->average(logs);
    if (!xv.empty()) {
      Logs val = dist ? dist->evaluate(*this, xv, yv, o.batch_size)
                      : evaluate(xv, yv, EvaluateOptions{o.batch_size, 0, nullptr, ProgressStyle::Lines});
      for (auto& [k, v] : val.items()) logs.set("val_" + k, v);
    }
    for (auto& c : callbacks) c->on_epoch_end(epoch, logs);
    if (dist) stop_training = dist->agree_stop(stop_training);
  }
  for (auto& c : callbacks) c->on_train_end(logs);
  for (auto& c : callbacks) c->set_model(nullptr);
  return *history;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, const EvaluateOptions& o) {
  return evaluate(std::vector<Tensor>{x}, y, o);
}

Logs Model::evaluate(const std::vector<Tensor>& x, const Tensor& y, const EvaluateOptions& o) {
  require_compiled("evaluate");
  check_xy("evaluate", x, y);
  if (o.batch_size <= 0) fail("evaluate: batch_size must be positive, got ", o.batch_size);
  prepare_for(x);
  ModeGuard mode(*this, false);
  NoGradGuard no_grad;
  reset_metrics();
  int64_t n = y.size(0);
  int64_t steps = (n + o.batch_size - 1) / o.batch_size;
  std::ostream& os = o.out ? *o.out : std::cout;
  bool dynamic = o.progress == ProgressStyle::Bar || (o.progress == ProgressStyle::Auto && is_terminal(os));
  std::unique_ptr<Progbar> bar;
  if (o.verbose > 0) bar = std::make_unique<Progbar>(steps, os, dynamic && o.verbose == 1);
  for (int64_t s = 0; s < steps; ++s) {
    int64_t lo = s * o.batch_size, hi = std::min(n, lo + o.batch_size);
    Tensor yb = y.slice(0, lo, hi).to(device());
    Tensor pred = forward_batch(to_device(slice_all(x, lo, hi), device()));
    Tensor loss = (*loss_)(yb, pred);
    if (loss.numel() != 1) fail("evaluate: the loss must reduce to one value, got shape ", loss.shape());
    loss_tracker_.add(loss.item<double>(), (double)(hi - lo));
    for (auto& m : metrics_) m->update(yb, pred);
    if (bar && s + 1 < steps) bar->update(s + 1, metric_logs());
  }
  Logs logs = metric_logs();
  if (bar) bar->update(steps, logs, true);
  return logs;
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) { return predict(std::vector<Tensor>{x}, batch_size); }

Tensor Model::predict(const std::vector<Tensor>& x, int64_t batch_size) {
  if (x.empty()) fail("predict: x is an empty list of inputs");
  for (auto& xi : x)
    if (!xi.defined() || xi.dim() < 1) fail("predict: x needs a batch dim");
  for (auto& xi : x)
    if (xi.size(0) != x[0].size(0))
      fail("predict: the inputs have different numbers of samples: ", x[0].shape(), " and ", xi.shape());
  if (batch_size <= 0) fail("predict: batch_size must be positive, got ", batch_size);
  if (!built()) prepare_for(x);
  ModeGuard mode(*this, false);
  NoGradGuard no_grad;
  int64_t n = x[0].size(0);
  if (n == 0) fail("predict: x has no samples");
  std::vector<Tensor> outs;
  for (int64_t lo = 0; lo < n; lo += batch_size)
    outs.push_back(forward_batch(to_device(slice_all(x, lo, std::min(n, lo + batch_size)), device())));
  Tensor y = outs.size() == 1 ? outs[0] : concat(outs, 0);
  return y.to(x[0].device());
}

Tensor Model::predict_classes(const Tensor& x, int64_t batch_size) {
  Tensor p = predict(x, batch_size);
  if (p.dim() >= 2 && p.size(-1) > 1) return argmax(p, -1);
  return (p > 0.5).astype(kInt64);
}

namespace {

std::string shape_str(const Shape& s) {
  std::string r = "(None";
  if (s.size() == 0) return r + ",)";
  for (int64_t d : s) r += ", " + std::to_string(d);
  return r + ")";
}

std::string with_commas(int64_t v) {
  std::string digits = std::to_string(v), out;
  int n = (int)digits.size();
  for (int i = 0; i < n; ++i) {
    out += digits[i];
    if (digits[i] != '-' && (n - i - 1) % 3 == 0 && i != n - 1) out += ',';
  }
  return out;
}

// Keras's print_row: each field cut or padded to end at its column position.
std::string row(const std::vector<std::string>& fields, const std::vector<int>& pos) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0 && !line.empty()) line.back() = ' ';
    line += fields[i];
    if ((int)line.size() > pos[i]) line.resize(pos[i]);
    line += std::string(pos[i] - line.size(), ' ');
  }
  return line;
}

}  // namespace

std::string Model::summary_string(int line_length) {
  if (line_length < 20) fail("summary: line_length must be at least 20, got ", line_length);
  if (!built() || named_children().empty())
    fail("summary: this model has not yet been built. Build it by calling build(input_shape), by calling "
         "fit() on some data, or by giving the first layer an input_dim");
  bool shapes_known = true;
  for (auto& [n, c] : named_children()) shapes_known = shapes_known && c->has_output_shape();
  if (!shapes_known && has_build_input_shape()) build(build_input_shape());
  std::vector<int> pos = {(int)(line_length * 0.45), (int)(line_length * 0.85), line_length};
  std::ostringstream os;
  os << "Model: \"" << (name().empty() ? base_name() : name()) << "\"\n";
  os << std::string(line_length, '_') << "\n";
  os << row({"Layer (type)", "Output Shape", "Param #"}, pos) << "\n";
  os << std::string(line_length, '=') << "\n";
  int64_t trainable = 0, frozen = 0;
  const auto& children = named_children();
  for (size_t i = 0; i < children.size(); ++i) {
    const Module& c = *children[i].second;
    std::string label = (c.name().empty() ? children[i].first : c.name()) + " (" + c.type_name() + ")";
    std::string shape = c.has_output_shape() ? shape_str(c.output_shape()) : "multiple";
    // Keras counts non-trainable state (batch-norm moving statistics: floating buffers) too.
    int64_t state = 0;
    for (auto& [bn, b] : c.named_buffers()) state += is_floating(b.dtype()) ? b.numel() : 0;
    os << row({label, shape, std::to_string(c.count_params() + state)}, pos) << "\n";
    os << std::string(line_length, i + 1 == children.size() ? '=' : '_') << "\n";
  }
  for (auto& [n, p] : named_parameters()) (p.requires_grad() ? trainable : frozen) += p.numel();
  for (auto& [n, b] : named_buffers()) frozen += is_floating(b.dtype()) ? b.numel() : 0;
  os << "Total params: " << with_commas(trainable + frozen) << "\n";
  os << "Trainable params: " << with_commas(trainable) << "\n";
  os << "Non-trainable params: " << with_commas(frozen) << "\n";
  os << std::string(line_length, '_') << "\n";
  return os.str();
}

void Model::summary(std::ostream* out) { (out ? *out : std::cout) << summary_string(); }

void Model::save_weights(const std::string& path) const { training::save_weights(*this, path); }
void Model::load_weights(const std::string& path) { training::load_weights(*this, path); }

}  // namespace tapeflow::training
