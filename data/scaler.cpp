// StandardScaler: column means and population stds in float64 (scikit-learn's semantics).
#include "data/scaler.h"

#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::data {
namespace {
void check_2d(const char* op, const Tensor& x) {
  if (!x.defined()) fail(op, ": got an undefined tensor");
  if (x.dim() != 2) fail(op, ": expects a 2-D (samples, features) tensor, got shape ", x.shape());
  if (x.dtype() == kBool) fail(op, ": expects numbers, got a bool tensor");
}
}  // namespace

void StandardScaler::fit(const Tensor& x) {
  check_2d("StandardScaler::fit", x);
  if (x.size(0) == 0) fail("StandardScaler::fit: no samples (shape ", x.shape(), ")");
  Tensor d = x.astype(kFloat64);
  Tensor m = d.mean(0);
  Tensor sd = (d - m).square().mean(0).sqrt();
  mean = m;
  scale = where(eq(sd, 0.0), ones_like(sd), sd);
}

Tensor StandardScaler::transform(const Tensor& x) const {
  check_2d("StandardScaler::transform", x);
  if (!mean.defined()) fail("StandardScaler::transform: call fit() first");
  if (x.size(1) != mean.numel())
    fail("StandardScaler::transform: x has ", x.size(1), " features (shape ", x.shape(), ") but fit() saw ", mean.numel());
  DType out = is_floating(x.dtype()) ? x.dtype() : kFloat32;
  Tensor d = x.astype(kFloat64);
  if (with_mean) d = d - mean.to(x.device());
  if (with_std) d = d / scale.to(x.device());
  return d.astype(out);
}

Tensor StandardScaler::inverse_transform(const Tensor& x) const {
  check_2d("StandardScaler::inverse_transform", x);
  if (!mean.defined()) fail("StandardScaler::inverse_transform: call fit() first");
  if (x.size(1) != mean.numel())
    fail("StandardScaler::inverse_transform: x has ", x.size(1), " features but fit() saw ", mean.numel());
  Tensor d = x.astype(kFloat64);
  if (with_std) d = d * scale.to(x.device());
  if (with_mean) d = d + mean.to(x.device());
  return d.astype(is_floating(x.dtype()) ? x.dtype() : kFloat32);
}

}  // namespace tapeflow::data
