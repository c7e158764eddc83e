// nn::Model: a Module with Keras's training API: compile(optimizer, loss, metrics), fit (with
// validation, shuffling, callbacks and the progress display), evaluate, predict and summary.
// fit() is made only of pieces a hand-written loop can use: data::BatchIterator, the module's
// forward, a Loss, backward(), Optimizer::step() and callbacks.
#pragma once
#include "training/namespace.h"
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "training/callbacks.h"
#include "nn/losses.h"
#include "training/metrics.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace tapeflow::training {

// How verbose=1 shows progress: a redrawn bar on a terminal, one line per epoch otherwise.
enum class ProgressStyle { Auto, Bar, Lines };

// fit()'s keyword arguments. Chained setters read like Keras's keywords in any order:
//   model.fit(x, y, nn::FitOptions().with_epochs(5).with_batch_size(64).with_validation_split(0.1));
// (C++20 designated initializers, {.batch_size = 64, .epochs = 5}, also work but only in the
// members' order below.)
struct FitOptions {
  int64_t batch_size = 32;
  int epochs = 1;
  int verbose = 1;  // 0 silent, 1 progress (bar or lines, see progress), 2 one line per epoch
  std::vector<std::shared_ptr<Callback>> callbacks = {};
  double validation_split = 0.0;  // the last fraction of (x, y), held out before shuffling
  std::pair<Tensor, Tensor> validation_data = {};  // used instead of validation_split when defined
  bool shuffle = true;
  int initial_epoch = 0;
  int64_t seed = -1;  // shuffling seed; -1 draws one from the global generator (manual_seed)
  std::ostream* out = nullptr;  // progress output; nullptr = std::cout
  ProgressStyle progress = ProgressStyle::Auto;
  // Data-parallel over the processes of an MPI launcher (mpirun -np N; distributed/): each rank
  // trains on its shard of every epoch's permutation; batch_size is the global batch (each rank
  // takes batch_size / N, rounded up), gradients are averaged across ranks before each step,
  // logs and validation metrics are averaged over the ranks, and only rank 0 prints and runs
  // the callbacks that write files. Throws "built without MPI" in a build without it.
  bool distributed = false;

  FitOptions& with_distributed(bool v) { distributed = v; return *this; }
  FitOptions& with_batch_size(int64_t v) { batch_size = v; return *this; }
  FitOptions& with_epochs(int v) { epochs = v; return *this; }
  FitOptions& with_verbose(int v) { verbose = v; return *this; }
  FitOptions& with_callbacks(std::vector<std::shared_ptr<Callback>> v) { callbacks = std::move(v); return *this; }
  FitOptions& with_callback(std::shared_ptr<Callback> c) { callbacks.push_back(std::move(c)); return *this; }
  FitOptions& with_validation_split(double v) { validation_split = v; return *this; }
  FitOptions& with_validation_data(Tensor x, Tensor y) { validation_data = {std::move(x), std::move(y)}; return *this; }
  FitOptions& with_shuffle(bool v) { shuffle = v; return *this; }
  FitOptions& with_initial_epoch(int v) { initial_epoch = v; return *this; }
  FitOptions& with_seed(int64_t v) { seed = v; return *this; }
  FitOptions& with_out(std::ostream* v) { out = v; return *this; }
  FitOptions& with_progress(ProgressStyle v) { progress = v; return *this; }
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  int verbose = 0;  // 1: one progress line (or bar on a terminal) at the end
  std::ostream* out = nullptr;
  ProgressStyle progress = ProgressStyle::Auto;
  EvaluateOptions& with_batch_size(int64_t v) { batch_size = v; return *this; }
  EvaluateOptions& with_verbose(int v) { verbose = v; return *this; }
  EvaluateOptions& with_out(std::ostream* v) { out = v; return *this; }
  EvaluateOptions& with_progress(ProgressStyle v) { progress = v; return *this; }
};

// compile() accepts names or objects for the optimizer, the loss and each metric.
struct OptimizerSpec {
  std::shared_ptr<optim::Optimizer> ptr;
  OptimizerSpec(const char* name);
  OptimizerSpec(const std::string& name);
  template <class O, std::enable_if_t<std::is_base_of_v<optim::Optimizer, O>, int> = 0>
  OptimizerSpec(std::shared_ptr<O> p) : ptr(std::move(p)) {}
};
struct LossSpec {
  std::shared_ptr<Loss> ptr;
  LossSpec(const char* name);
  LossSpec(const std::string& name);
  template <class L, std::enable_if_t<std::is_base_of_v<Loss, L>, int> = 0>
  LossSpec(std::shared_ptr<L> p) : ptr(std::move(p)) {}
};
struct MetricSpec {
  std::shared_ptr<Metric> ptr;
  MetricSpec(const char* name);
  MetricSpec(const std::string& name);
  template <class M, std::enable_if_t<std::is_base_of_v<Metric, M>, int> = 0>
  MetricSpec(std::shared_ptr<M> p) : ptr(std::move(p)) {}
};

class DistributedFit;

class Model : public Module {
  friend class DistributedFit;

 public:
  explicit Model(std::string type_name = "Model", std::string base_name = "model");

  void compile(OptimizerSpec optimizer, LossSpec loss, std::vector<MetricSpec> metrics = {});
  bool compiled() const { return loss_ != nullptr; }

  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // Several inputs (a model whose forward takes several tensors, nn/cloneable.h):
  // model.fit({x_image, x_features}, y, ...). Each input is batched along dim 0 with the same
  // order; validation_split applies to all of them (validation_data is for one input only).
  History fit(const std::vector<Tensor>& x, const Tensor& y, const FitOptions& options = {});
  // {"loss": ..., metric names...} over (x, y) in eval mode without recording.
  Logs evaluate(const Tensor& x, const Tensor& y, const EvaluateOptions& options = {});
  Logs evaluate(const std::vector<Tensor>& x, const Tensor& y, const EvaluateOptions& options = {});
  // Eval mode, no recording. On an eval-mode model (model.eval()) predict changes nothing in
  // the model, so several threads may call it at once (README "Threads").
  Tensor predict(const Tensor& x, int64_t batch_size = 32);
  Tensor predict(const std::vector<Tensor>& x, int64_t batch_size = 32);
  // argmax over the last axis, or (p > 0.5) for a single output unit; int64.
  Tensor predict_classes(const Tensor& x, int64_t batch_size = 32);

  // One optimisation step on a batch (what fit() runs); returns the running logs of the epoch.
  Logs train_step(const Tensor& x, const Tensor& y);
  Logs train_step(const std::vector<Tensor>& x, const Tensor& y);
  void reset_metrics();
  Logs metric_logs(const std::string& prefix = "") const;

  // Keras's table of layers, output shapes and parameter counts (the model must be built; a
  // model built from a known input shape is re-run on one zero sample to learn the shapes).
  std::string summary_string(int line_length = 65);
  void summary(std::ostream* out = nullptr);

  // The weights as a safetensors file (training/weights.h; Python's `safetensors` reads it).
  void save_weights(const std::string& path) const;
  void load_weights(const std::string& path);

  const std::shared_ptr<optim::Optimizer>& optimizer() const { return optimizer_; }
  const std::shared_ptr<Loss>& loss() const { return loss_; }
  const std::vector<std::shared_ptr<Metric>>& metrics() const { return metrics_; }
  bool stop_training = false;  // callbacks set it to end fit() after the current epoch
  std::ostream& out() const;   // where fit() and callbacks print

 protected:
  void require_compiled(const char* what) const;
  // Runs between backward and the optimizer step of train_step (set by distributed fit()).
  std::function<void()> before_step_;
  // Lets an unbuilt model build itself from the first batch's shape and hand its parameters
  // to an optimizer that was created without any.
  void prepare_for(const std::vector<Tensor>& x);
  // The forward of one batch: operator() for one input, call() for several.
  Tensor forward_batch(const std::vector<Tensor>& x);

 private:
  std::shared_ptr<optim::Optimizer> optimizer_;
  std::shared_ptr<Loss> loss_;
  std::vector<std::shared_ptr<Metric>> metrics_;
  Mean loss_tracker_{"loss"};
  std::ostream* out_ = nullptr;
};

}  // namespace tapeflow::training
