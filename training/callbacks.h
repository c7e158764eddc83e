// Training callbacks, Keras style: fit() calls them at train/epoch/batch boundaries with the
// current logs (running means during an epoch, epoch results at its end, val_* included).
// History (always added by fit), EarlyStopping, CSVLogger, LambdaCallback, ModelCheckpoint,
// LearningRateScheduler and ReduceLROnPlateau.
#pragma once
#include "training/namespace.h"
#include <cstdint>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "optim/schedules.h"
#include "tensor/tensor.h"

namespace tapeflow::training {

class Model;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Named numbers in insertion order ("loss", "accuracy", "val_loss", ...).
class Logs {
 public:
  void set(const std::string& key, double value);
  bool has(const std::string& key) const;
  double at(const std::string& key) const;  // throws naming the available keys
  double operator[](const std::string& key) const { return at(key); }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::pair<std::string, double>> items_;
};

struct TrainParams {
  int epochs = 1;
  int64_t steps = 0;  // batches per epoch
  int verbose = 1;
};

class Callback {
 public:
  virtual ~Callback();
  void set_model(Model* m) { model_ = m; }
  Model* model() const { return model_; }
  virtual void set_params(const TrainParams& p) { params_ = p; }
  const TrainParams& params() const { return params_; }
  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, const Logs&) {}
  virtual void on_epoch_end(int /*epoch*/, Logs&) {}  // may add entries (e.g. "lr")
  virtual void on_train_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_train_batch_end(int /*batch*/, const Logs&) {}
  // Under fit(..., with_distributed(true)) only rank 0 runs callbacks that write files or print
  // (CSVLogger, ModelCheckpoint, TensorBoard); the others run on every rank (they see the same,
  // rank-averaged logs, so EarlyStopping decides alike everywhere).
  virtual bool rank_zero_only() const { return false; }

 private:
  Model* model_ = nullptr;
  TrainParams params_;
};

// Per-epoch logs, as Keras's History: history["loss"][epoch].
class History : public Callback {
 public:
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  const std::vector<double>& operator[](const std::string& key) const;
  bool has(const std::string& key) const { return history.count(key) > 0; }
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;
};

// "auto" resolves to "max" for accuracy-like names, else "min" (Keras).
std::string resolve_mode(const std::string& mode, const std::string& monitor);

// Stops when `monitor` has not improved by more than min_delta for `patience` epochs; with
// restore_best_weights the best epoch's weights are put back when training ends (stopped early
// or not).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", double min_delta = 0.0, int patience = 0,
                         int verbose = 0, std::string mode = "auto", bool restore_best_weights = false);
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;
  int stopped_epoch() const { return stopped_epoch_; }  // 0 when training was not stopped
  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  bool improved(double current) const;
  std::string monitor_, mode_;
  double min_delta_;
  int patience_, verbose_;
  bool restore_;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  double best_ = 0;
  NamedTensors best_weights_;
};

// Writes one CSV row per epoch: "epoch" then the log keys in sorted order (Keras).
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, std::string separator = ",", bool append = false);
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;
  bool rank_zero_only() const override { return true; }

 private:
  std::string filename_, sep_;
  bool append_;
  std::ofstream file_;
  std::vector<std::string> keys_;
};

// Callbacks from lambdas; unset ones do nothing.
class LambdaCallback : public Callback {
 public:
  std::function<void(int, Logs&)> on_epoch_end_fn;
  std::function<void(int, const Logs&)> on_epoch_begin_fn;
  std::function<void(int, const Logs&)> on_batch_begin_fn;
  std::function<void(int, const Logs&)> on_batch_end_fn;
  std::function<void(const Logs&)> on_train_begin_fn;
  std::function<void(const Logs&)> on_train_end_fn;
  void on_epoch_end(int e, Logs& l) override { if (on_epoch_end_fn) on_epoch_end_fn(e, l); }
  void on_epoch_begin(int e, const Logs& l) override { if (on_epoch_begin_fn) on_epoch_begin_fn(e, l); }
  void on_train_batch_begin(int b, const Logs& l) override { if (on_batch_begin_fn) on_batch_begin_fn(b, l); }
  void on_train_batch_end(int b, const Logs& l) override { if (on_batch_end_fn) on_batch_end_fn(b, l); }
  void on_train_begin(const Logs& l) override { if (on_train_begin_fn) on_train_begin_fn(l); }
  void on_train_end(const Logs& l) override { if (on_train_end_fn) on_train_end_fn(l); }
};

// Saves the model's weights (safetensors) after each epoch, or only when `monitor` improved.
// The path may hold Keras-style fields: "ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"
// (epoch is 1-based there, as Keras).
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string filepath, std::string monitor = "val_loss", int verbose = 0,
                           bool save_best_only = false, std::string mode = "auto");
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  const std::string& last_saved() const { return last_saved_; }
  bool rank_zero_only() const override { return true; }

 private:
  std::string filepath_, monitor_, mode_;
  int verbose_;
  bool best_only_;
  double best_ = 0;
  std::string last_saved_;
};
// Formats a ModelCheckpoint path: {epoch}, {epoch:02d}, {loss:.4f}, ...
std::string format_checkpoint_path(const std::string& pattern, int epoch_1based, const Logs& logs);

// Sets the optimizer's lr at each epoch begin to schedule(epoch, current_lr); logs "lr".
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int, double)> schedule, int verbose = 0);
  // An optim::LRSchedule evaluated at the epoch number.
  explicit LearningRateScheduler(std::shared_ptr<optim::LRSchedule> schedule, int verbose = 0);
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
  int verbose_;
};

// Keras ReduceLROnPlateau as a callback over optim::ReduceLROnPlateau; logs "lr".
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(std::string monitor = "val_loss", double factor = 0.1, int patience = 10,
                             int verbose = 0, std::string mode = "auto", double min_delta = 1e-4,
                             int cooldown = 0, double min_lr = 0.0);
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::string monitor_, mode_;
  double factor_, min_delta_, min_lr_;
  int patience_, verbose_, cooldown_;
  std::unique_ptr<optim::ReduceLROnPlateau> impl_;
};

}  // namespace tapeflow::training
