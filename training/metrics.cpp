// Accuracy metrics: per-sample functions, accumulating Metric classes, the shape-based choice
// behind "accuracy" and get_metric().
#include "training/metrics.h"

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace tapeflow::training {

namespace {
void check_rows(const char* op, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined() || !y_pred.defined()) fail(op, ": got an undefined tensor");
  if (y_pred.dim() < 1 || y_true.dim() < 1 || y_true.size(0) != y_pred.size(0))
    fail(op, ": y_true has shape ", y_true.shape(), " but y_pred has shape ", y_pred.shape(),
         "; they need the same number of samples");
}
}  // namespace

Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold) {
  NoGradGuard no_grad;
  check_rows("binary_accuracy", y_true, y_pred);
  if (y_true.numel() != y_pred.numel())
    fail("binary_accuracy: y_true has shape ", y_true.shape(), " but y_pred has shape ", y_pred.shape());
  Tensor pred = y_pred.reshape(y_true.shape()) > threshold;
  Tensor truth = y_true.astype(kFloat64) > 0.5;
  Tensor hit = eq(pred, truth).astype(kFloat32);
  return hit.dim() >= 2 ? mean(hit, -1) : hit;
}

Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  NoGradGuard no_grad;
  check_rows("categorical_accuracy", y_true, y_pred);
  if (y_true.shape() != y_pred.shape())
    fail("categorical_accuracy: y_true has shape ", y_true.shape(), " but y_pred has shape ", y_pred.shape());
  return eq(argmax(y_true, -1), argmax(y_pred, -1)).astype(kFloat32);
}

Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  NoGradGuard no_grad;
  check_rows("sparse_categorical_accuracy", y_true, y_pred);
  Tensor labels = y_true;
  if (labels.dim() == y_pred.dim() && labels.size(-1) == 1) labels = labels.squeeze(-1);
  Tensor pred = argmax(y_pred, -1);
  if (labels.shape() != pred.shape())
    fail("sparse_categorical_accuracy: y_true has shape ", y_true.shape(), " but y_pred has shape ", y_pred.shape());
  return eq(labels.astype(kInt64), pred).astype(kFloat32);
}

Metric::~Metric() = default;

void Mean::update(const Tensor&, const Tensor&) { fail("Mean metric: use add(value, weight)"); }

namespace {
void accumulate_hits(const Tensor& hits, double& total, double& count) {
  NoGradGuard no_grad;
  total = sum(hits.astype(kFloat64)).item<double>();
  count = (double)hits.numel();
}
}  // namespace

void BinaryAccuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  double t, c;
  accumulate_hits(binary_accuracy(y_true, y_pred, threshold_), t, c);
  accumulate(t, c);
}

void CategoricalAccuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  double t, c;
  accumulate_hits(categorical_accuracy(y_true, y_pred), t, c);
  accumulate(t, c);
}

void SparseCategoricalAccuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  double t, c;
  accumulate_hits(sparse_categorical_accuracy(y_true, y_pred), t, c);
  accumulate(t, c);
}

void Accuracy::update(const Tensor& y_true, const Tensor& y_pred) {
  if (!inner_) {
    check_rows("accuracy", y_true, y_pred);
    bool is_binary = y_pred.size(-1) == 1 || y_pred.dim() == 1;
    bool is_sparse = y_true.dim() < y_pred.dim() || (y_true.size(-1) == 1 && y_pred.size(-1) > 1);
    if (is_binary) inner_ = std::make_unique<BinaryAccuracy>(name());
    else if (is_sparse) inner_ = std::make_unique<SparseCategoricalAccuracy>(name());
    else inner_ = std::make_unique<CategoricalAccuracy>(name());
  }
  inner_->update(y_true, y_pred);
}

void Accuracy::reset() {
  if (inner_) inner_->reset();
}

std::string Accuracy::kind() const {
  if (!inner_) return "";
  if (dynamic_cast<BinaryAccuracy*>(inner_.get())) return "binary";
  if (dynamic_cast<SparseCategoricalAccuracy*>(inner_.get())) return "sparse";
  return "categorical";
}

std::shared_ptr<Metric> get_metric(const std::string& name) {
  if (name == "accuracy" || name == "acc") return std::make_shared<Accuracy>(name);
  if (name == "binary_accuracy") return std::make_shared<BinaryAccuracy>();
  if (name == "categorical_accuracy") return std::make_shared<CategoricalAccuracy>();
  if (name == "sparse_categorical_accuracy") return std::make_shared<SparseCategoricalAccuracy>();
  fail("unknown metric '", name, "'; valid names: accuracy, acc, binary_accuracy, categorical_accuracy, "
       "sparse_categorical_accuracy");
}

}  // namespace tapeflow::training
