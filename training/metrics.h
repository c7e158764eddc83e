// Metrics: stateful accumulators updated per batch (reset each epoch), Keras style. "accuracy"
// picks binary, categorical or sparse accuracy from the shapes on its first update, as Keras
// does: binary when y_pred's last dim is 1, sparse when y_true has a lower rank than y_pred or a
// last dim of 1 against several classes, categorical otherwise. New metrics subclass Metric and
// register a name in get_metric().
#pragma once
#include "training/namespace.h"
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::training {

// Per-sample 0/1 results (float32), for use in a hand-written loop.
Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold = 0.5);
Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);

class Metric {
 public:
  explicit Metric(std::string name) : name_(std::move(name)) {}
  virtual ~Metric();
  virtual void reset() { total_ = 0; count_ = 0; }
  virtual void update(const Tensor& y_true, const Tensor& y_pred) = 0;
  virtual double result() const { return count_ > 0 ? total_ / count_ : 0.0; }
  const std::string& name() const { return name_; }

 protected:
  void accumulate(double total, double count) { total_ += total; count_ += count; }

 private:
  std::string name_;
  double total_ = 0, count_ = 0;
};

// A weighted running mean of plain numbers (the loss tracker in fit()).
class Mean : public Metric {
 public:
  explicit Mean(std::string name = "mean") : Metric(std::move(name)) {}
  void update(const Tensor&, const Tensor&) override;  // not used: call add()
  void add(double value, double weight = 1.0) { accumulate(value * weight, weight); }
};

class BinaryAccuracy : public Metric {
 public:
  explicit BinaryAccuracy(std::string name = "binary_accuracy", double threshold = 0.5)
      : Metric(std::move(name)), threshold_(threshold) {}
  void update(const Tensor& y_true, const Tensor& y_pred) override;

 private:
  double threshold_;
};

class CategoricalAccuracy : public Metric {
 public:
  explicit CategoricalAccuracy(std::string name = "categorical_accuracy") : Metric(std::move(name)) {}
  void update(const Tensor& y_true, const Tensor& y_pred) override;
};

class SparseCategoricalAccuracy : public Metric {
 public:
  explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy") : Metric(std::move(name)) {}
  void update(const Tensor& y_true, const Tensor& y_pred) override;
};

// "accuracy": chooses its kind from the first batch's shapes (see the header comment).
class Accuracy : public Metric {
 public:
  explicit Accuracy(std::string name = "accuracy") : Metric(std::move(name)) {}
  void update(const Tensor& y_true, const Tensor& y_pred) override;
  void reset() override;
  double result() const override { return inner_ ? inner_->result() : 0.0; }
  std::string kind() const;  // "binary", "categorical", "sparse" or "" before the first update

 private:
  std::unique_ptr<Metric> inner_;
};

// By name: accuracy/acc, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy.
std::shared_ptr<Metric> get_metric(const std::string& name);

}  // namespace tapeflow::training
