// Loss functions (see losses.h): shape checks, per-sample values, reductions, the Loss
// classes and the name table behind get_loss().
#include "nn/losses.h"

#include <utility>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

namespace {

// Keras accepts (N,) against (N, 1); anything else must match exactly. Returns y_true in the
// prediction's shape and dtype.
Tensor match_target(const char* op, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined() || !y_pred.defined()) fail(op, ": got an undefined tensor");
  if (!is_floating(y_pred.dtype()))
    fail(op, ": y_pred must be floating point, got ", y_pred.dtype(),
         " (Keras-named losses take (y_true, y_pred); nn::functional's PyTorch-named ones take (input, target))");
  if (y_true.device() != y_pred.device())
    fail(op, ": y_true is on ", y_true.device(), " but y_pred is on ", y_pred.device());
  Tensor t = y_true;
  const Shape& ps = y_pred.shape();
  if (t.shape() != ps) {
    Shape ts = t.shape();
    bool expand = ts.size() + 1 == ps.size() && ps.back() == 1 && t.numel() == y_pred.numel();
    bool squeeze = ts.size() == ps.size() + 1 && ts.back() == 1 && t.numel() == y_pred.numel();
    if (!expand && !squeeze)
      fail(op, ": y_true has shape ", y_true.shape(), " but y_pred has shape ", ps, "; they must match");
    t = t.reshape(ps);
  }
  if (t.dtype() != y_pred.dtype()) t = t.astype(y_pred.dtype());
  return t;
}

// Mean over the last axis for rank >= 2; one value per element otherwise.
Tensor mean_last(const Tensor& x) { return x.dim() >= 2 ? mean(x, -1) : x; }

// Probabilities must lie in [0, 1]: logits (or swapped arguments) given as y_pred would
// otherwise be clipped into a silently wrong loss.
void check_probabilities(const char* op, const Tensor& y_pred) {
  if (y_pred.numel() == 0) return;
  NoGradGuard no_grad;
  double lo = y_pred.min().item<double>(), hi = y_pred.max().item<double>();
  if (!(lo >= -1e-6 && hi <= 1.0 + 1e-6))
    fail(op, ": y_pred must hold probabilities in [0, 1] (or pass from_logits=true), got values in [", lo, ", ",
         hi, "]; Keras-named losses take (y_true, y_pred)");
}

void check_class_axis(const char* op, const Tensor& y_pred) {
  if (!y_pred.defined()) fail(op, ": got an undefined tensor");
  if (y_pred.dim() < 1 || y_pred.size(-1) < 1)
    fail(op, ": y_pred needs a non-empty class axis, got shape ", y_pred.shape());
}

}  // namespace

Tensor reduce_loss(const Tensor& per_sample, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return mean(per_sample);
    case Reduction::Sum: return sum(per_sample);
    default: return per_sample;
  }
}

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, Reduction r) {
  Tensor t = match_target("mean_squared_error", y_true, y_pred);
  return reduce_loss(mean_last(square(y_pred - t)), r);
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, Reduction r) {
  Tensor t = match_target("mean_absolute_error", y_true, y_pred);
  return reduce_loss(mean_last(abs(y_pred - t)), r);
}

Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta, Reduction r) {
  if (!(delta > 0)) fail("huber: delta must be positive, got ", delta);
  Tensor t = match_target("huber", y_true, y_pred);
  Tensor a = abs(y_pred - t);
  Tensor q = clamp_max(a, delta);  // the quadratic part, then linear beyond delta
  return reduce_loss(mean_last(square(q) * 0.5 + (a - q) * delta), r);
}

Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, Reduction r) {
  Tensor t = match_target("binary_crossentropy", y_true, y_pred);
  Tensor per;
  if (from_logits) {
    const Tensor& x = y_pred;
    per = relu(x) - x * t + log1p(exp(-abs(x)));
  } else {
    check_probabilities("binary_crossentropy", y_pred);
    Tensor p = clamp(y_pred, kLossEpsilon, 1.0 - kLossEpsilon);
    per = -(t * log(p) + (1.0 - t) * log(1.0 - p));
  }
  return reduce_loss(mean_last(per), r);
}

Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, Reduction r) {
  check_class_axis("categorical_crossentropy", y_pred);
  if (y_true.defined() && y_true.shape() != y_pred.shape())
    fail("categorical_crossentropy: y_true has shape ", y_true.shape(), " but y_pred has shape ",
         y_pred.shape(), "; they must match (use sparse_categorical_crossentropy for integer labels)");
  Tensor t = match_target("categorical_crossentropy", y_true, y_pred);
  if (from_logits) return reduce_loss(softmax_cross_entropy(y_pred, t, -1), r);
  check_probabilities("categorical_crossentropy", y_pred);
  Tensor p = y_pred / sum(y_pred, -1, true);
  p = clamp(p, kLossEpsilon, 1.0 - kLossEpsilon);
  return reduce_loss(-sum(t * log(p), -1), r);
}

Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, Reduction r) {
  const char* op = "sparse_categorical_crossentropy";
  if (y_pred.defined() && !is_floating(y_pred.dtype()))
    fail(op, ": y_pred must be floating point, got ", y_pred.dtype(), " of shape ", y_pred.shape(),
         " (Keras-named losses take (y_true, y_pred))");
  check_class_axis(op, y_pred);
  if (!y_true.defined()) fail(op, ": got an undefined tensor");
  if (y_true.device() != y_pred.device())
    fail(op, ": y_true is on ", y_true.device(), " but y_pred is on ", y_pred.device());
  Shape want = y_pred.shape();
  want.erase(want.size() - 1);
  Tensor labels = y_true;
  if (labels.shape() != want) {
    Shape with_one = want;
    with_one.push_back(1);
    if (labels.shape() != with_one)
      fail(op, ": y_true has shape ", y_true.shape(), " but y_pred has shape ", y_pred.shape(),
           "; expected labels of shape ", want, " or ", with_one);
    labels = labels.reshape(want);
  }
  if (labels.dtype() == kBool) fail(op, ": labels must be integers, got bool");
  if (labels.dtype() != kInt64) labels = labels.astype(kInt64);
  int64_t classes = y_pred.size(-1);
  if (labels.numel() > 0) {
    NoGradGuard no_grad;
    int64_t lo = min(labels).item<int64_t>(), hi = max(labels).item<int64_t>();
    if (lo < 0 || hi >= classes)
      fail(op, ": labels must be in [0, ", classes, "), got values in [", lo, ", ", hi, "]");
  }
  if (!from_logits) check_probabilities(op, y_pred);
  Tensor logits = from_logits ? y_pred : log(clamp(y_pred, kLossEpsilon, 1.0 - kLossEpsilon));
  Tensor flat = cross_entropy(logits.reshape(Shape{-1, classes}), labels.reshape(Shape{-1}));
  return reduce_loss(flat.reshape(want), r);
}

Loss::~Loss() = default;

Tensor MeanSquaredError::per_sample(const Tensor& t, const Tensor& p) const {
  return mean_squared_error(t, p, Reduction::None);
}
Tensor MeanAbsoluteError::per_sample(const Tensor& t, const Tensor& p) const {
  return mean_absolute_error(t, p, Reduction::None);
}
Tensor Huber::per_sample(const Tensor& t, const Tensor& p) const { return huber(t, p, delta_, Reduction::None); }
Tensor BinaryCrossentropy::per_sample(const Tensor& t, const Tensor& p) const {
  return binary_crossentropy(t, p, from_logits_, Reduction::None);
}
Tensor CategoricalCrossentropy::per_sample(const Tensor& t, const Tensor& p) const {
  return categorical_crossentropy(t, p, from_logits_, Reduction::None);
}
Tensor SparseCategoricalCrossentropy::per_sample(const Tensor& t, const Tensor& p) const {
  return sparse_categorical_crossentropy(t, p, from_logits_, Reduction::None);
}

namespace {
const std::vector<std::pair<std::string, std::shared_ptr<Loss> (*)()>>& table() {
  static const std::vector<std::pair<std::string, std::shared_ptr<Loss> (*)()>> t = {
      {"mean_squared_error", [] { return std::shared_ptr<Loss>(std::make_shared<MeanSquaredError>()); }},
      {"mse", [] { return std::shared_ptr<Loss>(std::make_shared<MeanSquaredError>()); }},
      {"mean_absolute_error", [] { return std::shared_ptr<Loss>(std::make_shared<MeanAbsoluteError>()); }},
      {"mae", [] { return std::shared_ptr<Loss>(std::make_shared<MeanAbsoluteError>()); }},
      {"huber", [] { return std::shared_ptr<Loss>(std::make_shared<Huber>()); }},
      {"huber_loss", [] { return std::shared_ptr<Loss>(std::make_shared<Huber>()); }},
      {"binary_crossentropy", [] { return std::shared_ptr<Loss>(std::make_shared<BinaryCrossentropy>()); }},
      {"categorical_crossentropy",
       [] { return std::shared_ptr<Loss>(std::make_shared<CategoricalCrossentropy>()); }},
      {"sparse_categorical_crossentropy",
       [] { return std::shared_ptr<Loss>(std::make_shared<SparseCategoricalCrossentropy>()); }},
  };
  return t;
}
}  // namespace

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (auto& [name, f] : table()) n.push_back(name);
    return n;
  }();
  return names;
}

std::shared_ptr<Loss> get_loss(const std::string& name) {
  for (auto& [n, f] : table())
    if (n == name) return f();
  std::string valid;
  for (auto& n : loss_names()) valid += (valid.empty() ? "" : ", ") + n;
  fail("unknown loss '", name, "'; valid names: ", valid);
}

}  // namespace tapeflow::nn
