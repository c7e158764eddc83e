// Callback implementations: Logs, History, EarlyStopping, CSVLogger, ModelCheckpoint (with
// Keras-style path fields), LearningRateScheduler and ReduceLROnPlateau.
#include "training/callbacks.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>

#include "training/model.h"
#include "optim/optimizer.h"

namespace tapeflow::training {

void Logs::set(const std::string& key, double value) {
  for (auto& [k, v] : items_)
    if (k == key) { v = value; return; }
  items_.emplace_back(key, value);
}

bool Logs::has(const std::string& key) const {
  for (auto& [k, v] : items_)
    if (k == key) return true;
  return false;
}

double Logs::at(const std::string& key) const {
  std::string keys;
  for (auto& [k, v] : items_) {
    if (k == key) return v;
    keys += (keys.empty() ? "" : ", ") + k;
  }
  fail("Logs: no entry '", key, "' (available: ", keys.empty() ? "none" : keys, ")");
}

Callback::~Callback() = default;

void History::on_train_begin(const Logs&) {
  epoch.clear();
  history.clear();
}

void History::on_epoch_end(int e, Logs& logs) {
  epoch.push_back(e);
  for (auto& [k, v] : logs.items()) history[k].push_back(v);
}

const std::vector<double>& History::operator[](const std::string& key) const {
  auto it = history.find(key);
  if (it == history.end()) {
    std::string keys;
    for (auto& [k, v] : history) keys += (keys.empty() ? "" : ", ") + k;
    fail("History: no entry '", key, "' (available: ", keys.empty() ? "none" : keys, ")");
  }
  return it->second;
}

std::string resolve_mode(const std::string& mode, const std::string& monitor) {
  if (mode == "min" || mode == "max") return mode;
  if (mode != "auto") fail("mode must be 'auto', 'min' or 'max', got '", mode, "'");
  bool maximise = monitor.find("acc") != std::string::npos || monitor.find("auc") != std::string::npos;
  return maximise ? "max" : "min";
}

namespace {
double worst(const std::string& mode) {
  return mode == "max" ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}
}  // namespace

// ---- EarlyStopping ----

EarlyStopping::EarlyStopping(std::string monitor, double min_delta, int patience, int verbose, std::string mode,
                             bool restore_best_weights)
    : monitor_(std::move(monitor)), min_delta_(std::abs(min_delta)), patience_(patience), verbose_(verbose),
      restore_(restore_best_weights) {
  if (patience < 0) fail("EarlyStopping: patience must be non-negative, got ", patience);
  mode_ = resolve_mode(mode, monitor_);
}

bool EarlyStopping::improved(double current) const {
  return mode_ == "max" ? current - min_delta_ > best_ : current + min_delta_ < best_;
}

void EarlyStopping::on_train_begin(const Logs&) {
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  best_ = worst(mode_);
  best_weights_.clear();
}

namespace {
NamedTensors snapshot(const Model& m) {
  NamedTensors out;
  for (auto& [n, t] : m.state_dict()) out.emplace_back(n, t.clone());
  return out;
}
}  // namespace

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  if (!logs.has(monitor_)) {
    std::string keys;
    for (auto& [k, v] : logs.items()) keys += (keys.empty() ? "" : ", ") + k;
    fail("EarlyStopping: monitor '", monitor_, "' is not in the logs (available: ", keys, ")");
  }
  double current = logs.at(monitor_);
  if (restore_ && best_weights_.empty()) best_weights_ = snapshot(*model());
  ++wait_;
  if (improved(current)) {
    best_ = current;
    best_epoch_ = epoch;
    if (restore_) best_weights_ = snapshot(*model());
    wait_ = 0;
    return;
  }
  if (wait_ >= patience_ && epoch > 0) {
    stopped_epoch_ = epoch;
    model()->stop_training = true;
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (stopped_epoch_ > 0 && verbose_ > 0) model()->out() << "Epoch " << stopped_epoch_ + 1 << ": early stopping\n";
  if (restore_ && !best_weights_.empty()) {
    if (verbose_ > 0)
      model()->out() << "Restoring model weights from the end of the best epoch: " << best_epoch_ + 1 << ".\n";
    model()->load_state_dict(best_weights_);
  }
}

// ---- CSVLogger ----

namespace {
// Python's repr of a float: shortest round-trip digits, with ".0" on integral values.
std::string py_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

CSVLogger::CSVLogger(std::string filename, std::string separator, bool append)
    : filename_(std::move(filename)), sep_(std::move(separator)), append_(append) {}

void CSVLogger::on_train_begin(const Logs&) {
  bool had_rows = false;
  if (append_) {
    std::ifstream in(filename_);
    had_rows = in.good() && in.peek() != std::ifstream::traits_type::eof();
  }
  file_.open(filename_, append_ ? std::ios::app : std::ios::trunc);
  if (!file_) fail("CSVLogger: cannot open '", filename_, "' for writing");
  keys_.clear();
  if (had_rows) keys_.push_back("");  // appending: the header is already there
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  bool need_header = keys_.empty();
  if (keys_.empty() || (keys_.size() == 1 && keys_[0].empty())) {
    keys_.clear();
    for (auto& [k, v] : logs.items()) keys_.push_back(k);
    std::sort(keys_.begin(), keys_.end());
  }
  if (need_header) {
    file_ << "epoch";
    for (auto& k : keys_) file_ << sep_ << k;
    file_ << "\n";
  }
  file_ << epoch;
  for (auto& k : keys_) file_ << sep_ << (logs.has(k) ? py_float(logs.at(k)) : std::string("NA"));
  file_ << "\n";
  file_.flush();
}

void CSVLogger::on_train_end(const Logs&) { file_.close(); }

// ---- ModelCheckpoint ----

std::string format_checkpoint_path(const std::string& pattern, int epoch, const Logs& logs) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') { out += pattern[i]; continue; }
    size_t close = pattern.find('}', i);
    if (close == std::string::npos) fail("ModelCheckpoint: unbalanced '{' in '", pattern, "'");
    std::string field = pattern.substr(i + 1, close - i - 1);
    std::string name = field, spec;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      name = field.substr(0, colon);
      spec = field.substr(colon + 1);
    }
    bool is_epoch = name == "epoch";
    if (!is_epoch && !logs.has(name))
      fail("ModelCheckpoint: the path field '{", field, "}' names '", name, "', which is not in the logs");
    char buf[128];
    std::string fmt(1, '%');  // NOTE: built with += to dodge a GCC 12 -Wrestrict false positive
    fmt += spec.empty() ? std::string(is_epoch ? "d" : "g") : spec;
    char conv = fmt.back();
    if (fmt.find_first_not_of("%0123456789.-+ #", 0) != fmt.size() - 1)
      fail("ModelCheckpoint: unsupported format '{", field, "}' in '", pattern, "'");
    if (is_epoch && (conv == 'd' || conv == 'i')) std::snprintf(buf, sizeof buf, fmt.c_str(), epoch);
    else if (!is_epoch && std::string("eEfFgG").find(conv) != std::string::npos)
      std::snprintf(buf, sizeof buf, fmt.c_str(), logs.at(name));
    else fail("ModelCheckpoint: unsupported format '{", field, "}' in '", pattern, "'");
    out += buf;
    i = close;
  }
  return out;
}

ModelCheckpoint::ModelCheckpoint(std::string filepath, std::string monitor, int verbose, bool save_best_only,
                                 std::string mode)
    : filepath_(std::move(filepath)), monitor_(std::move(monitor)), verbose_(verbose), best_only_(save_best_only) {
  mode_ = resolve_mode(mode, monitor_);
}

void ModelCheckpoint::on_train_begin(const Logs&) { best_ = worst(mode_); }

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  std::string path = format_checkpoint_path(filepath_, epoch + 1, logs);
  if (best_only_) {
    if (!logs.has(monitor_)) fail("ModelCheckpoint: monitor '", monitor_, "' is not in the logs");
    double current = logs.at(monitor_);
    bool better = mode_ == "max" ? current > best_ : current < best_;
    if (!better) {
      if (verbose_ > 0)
        model()->out() << "\nEpoch " << epoch + 1 << ": " << monitor_ << " did not improve from " << best_ << "\n";
      return;
    }
    if (verbose_ > 0)
      model()->out() << "\nEpoch " << epoch + 1 << ": " << monitor_ << " improved from " << best_ << " to "
                     << current << ", saving model to " << path << "\n";
    best_ = current;
  } else if (verbose_ > 0) {
    model()->out() << "\nEpoch " << epoch + 1 << ": saving model to " << path << "\n";
  }
  model()->save_weights(path);
  last_saved_ = path;
}

// ---- learning-rate callbacks ----

namespace {
optim::Optimizer& optimizer_of(Model* m, const char* who) {
  if (!m || !m->optimizer()) fail(who, ": the model has no optimizer (compile it first)");
  return *m->optimizer();
}
}  // namespace

LearningRateScheduler::LearningRateScheduler(std::function<double(int, double)> schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) fail("LearningRateScheduler: empty schedule");
}

LearningRateScheduler::LearningRateScheduler(std::shared_ptr<optim::LRSchedule> schedule, int verbose)
    : verbose_(verbose) {
  if (!schedule) fail("LearningRateScheduler: null schedule");
  schedule_ = [schedule](int epoch, double) { return (*schedule)(epoch); };
}

void LearningRateScheduler::on_epoch_begin(int epoch, const Logs&) {
  optim::Optimizer& opt = optimizer_of(model(), "LearningRateScheduler");
  double lr = schedule_(epoch, opt.lr());
  opt.set_lr(lr);
  if (verbose_ > 0) model()->out() << "\nEpoch " << epoch + 1 << ": LearningRateScheduler setting learning rate to " << lr << ".\n";
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) {
  logs.set("lr", optimizer_of(model(), "LearningRateScheduler").lr());
}

ReduceLROnPlateau::ReduceLROnPlateau(std::string monitor, double factor, int patience, int verbose, std::string mode,
                                     double min_delta, int cooldown, double min_lr)
    : monitor_(std::move(monitor)), factor_(factor), min_delta_(min_delta), min_lr_(min_lr), patience_(patience),
      verbose_(verbose), cooldown_(cooldown) {
  mode_ = resolve_mode(mode, monitor_);
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  impl_ = std::make_unique<optim::ReduceLROnPlateau>(optimizer_of(model(), "ReduceLROnPlateau"), mode_, factor_,
                                                     patience_, min_delta_, cooldown_, min_lr_);
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  optim::Optimizer& opt = optimizer_of(model(), "ReduceLROnPlateau");
  if (!logs.has(monitor_)) fail("ReduceLROnPlateau: monitor '", monitor_, "' is not in the logs");
  if (impl_->step(logs.at(monitor_)) && verbose_ > 0)
    model()->out() << "\nEpoch " << epoch + 1 << ": ReduceLROnPlateau reducing learning rate to " << opt.lr() << ".\n";
  logs.set("lr", opt.lr());
}

}  // namespace tapeflow::training
