// The Keras-style TensorBoard callback for fit(): per-epoch loss and metrics as
// "epoch_<name>" in log_dir/train and (val_* entries) log_dir/validation, the learning rate
// as "epoch_learning_rate" (train), optionally "batch_<name>" every update_freq batches, weight
// histograms every histogram_freq epochs and the run's hyperparameters (HPARAMS tab).
// Writes through tensorboard::SummaryWriter, from the training thread (as fit() calls it).
#pragma once
#include <memory>
#include <string>

#include "training/callbacks.h"
#include "tensorboard/summary_writer.h"

namespace tapeflow::training {

struct TensorBoardOptions {
  int histogram_freq = 0;  // weight histograms ("0/kernel", ...) every N epochs; 0: none
  int update_freq = 0;     // N > 0: also "batch_<name>" every N optimizer steps (step = steps done)
  bool write_learning_rate = true;          // "epoch_learning_rate": the optimizer's current_lr()
  int histogram_bins = 30;
  tensorboard::HParams hparams = {};        // when given: written to log_dir after the first
                                            // epoch, with every epoch_* tag as a metric
  double flush_secs = 2.0;
};

class TensorBoard : public Callback {
 public:
  bool rank_zero_only() const override { return true; }
  explicit TensorBoard(std::string log_dir, TensorBoardOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;  // closes (and so flushes) the event files
  const std::string& log_dir() const { return log_dir_; }

 private:
  tensorboard::SummaryWriter& validation_writer();
  std::string log_dir_;
  TensorBoardOptions options_;
  std::unique_ptr<tensorboard::SummaryWriter> train_, validation_;
  bool hparams_written_ = false;
};

}  // namespace tapeflow::training
