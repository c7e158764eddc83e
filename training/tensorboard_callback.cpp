// The TensorBoard callback: Keras's layout (log_dir/train, log_dir/validation, "epoch_" and
// "batch_" tags, step = epoch or optimizer step) over tensorboard::SummaryWriter.
#include "training/tensorboard_callback.h"

#include <utility>

#include "training/model.h"
#include "optim/optimizer.h"

namespace tapeflow::training {

TensorBoard::TensorBoard(std::string log_dir, TensorBoardOptions options)
    : log_dir_(std::move(log_dir)), options_(std::move(options)) {
  if (log_dir_.empty()) fail("TensorBoard: log_dir is empty");
  if (options_.histogram_freq < 0) fail("TensorBoard: histogram_freq must be >= 0, got ", options_.histogram_freq);
  if (options_.update_freq < 0) fail("TensorBoard: update_freq must be >= 0, got ", options_.update_freq);
  if (options_.histogram_bins < 1) fail("TensorBoard: histogram_bins must be >= 1, got ", options_.histogram_bins);
}

void TensorBoard::on_train_begin(const Logs&) {
  // Writers left open by a fit() that threw are closed first (one writer per directory).
  train_.reset();
  validation_.reset();
  tensorboard::SummaryWriterOptions wo{options_.flush_secs, ""};
  train_ = std::make_unique<tensorboard::SummaryWriter>(log_dir_ + "/train", wo);
  hparams_written_ = false;
}

tensorboard::SummaryWriter& TensorBoard::validation_writer() {
  if (!validation_)
    validation_ = std::make_unique<tensorboard::SummaryWriter>(
        log_dir_ + "/validation", tensorboard::SummaryWriterOptions{options_.flush_secs, ""});
  return *validation_;
}

void TensorBoard::on_train_batch_end(int, const Logs& logs) {
  if (options_.update_freq <= 0 || !train_ || !model() || !model()->optimizer()) return;
  int64_t step = model()->optimizer()->iterations();
  if (step % options_.update_freq != 0) return;
  for (auto& [k, v] : logs.items()) train_->add_scalar("batch_" + k, v, step);
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  if (!train_) fail("TensorBoard: on_epoch_end before on_train_begin");
  if (!options_.hparams.empty() && !hparams_written_) {
    std::vector<tensorboard::HParamMetric> metrics;
    for (auto& [k, v] : logs.items()) {
      if (k == "lr") continue;
      bool val = k.rfind("val_", 0) == 0;
      metrics.push_back({"epoch_" + (val ? k.substr(4) : k), val ? "validation" : "train"});
    }
    tensorboard::SummaryWriter root(log_dir_, {options_.flush_secs, ""});
    root.add_hparams(options_.hparams, metrics);
    hparams_written_ = true;
  }
  for (auto& [k, v] : logs.items()) {
    if (k == "lr") continue;  // the learning rate is written below, from the optimizer
    if (k.rfind("val_", 0) == 0)
      validation_writer().add_scalar("epoch_" + k.substr(4), v, epoch);
    else
      train_->add_scalar("epoch_" + k, v, epoch);
  }
  if (options_.write_learning_rate && model() && model()->optimizer())
    train_->add_scalar("epoch_learning_rate", model()->optimizer()->current_lr(), epoch);
  if (options_.histogram_freq > 0 && epoch % options_.histogram_freq == 0 && model()) {
    for (auto& [name, p] : model()->named_parameters()) {
      std::string tag = name;
      for (char& c : tag)
        if (c == '.') c = '/';
      train_->add_histogram(tag, p, epoch, options_.histogram_bins);
    }
  }
}

void TensorBoard::on_train_end(const Logs&) {
  if (train_) train_->close();
  if (validation_) validation_->close();
  train_.reset();
  validation_.reset();
}

}  // namespace tapeflow::training
