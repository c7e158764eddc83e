// Reshape, Permute, ZeroPadding2D.
#include "nn/shape_layers.h"

#include <algorithm>

#include "tensor/conv_ops.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

Reshape::Reshape(std::vector<int64_t> target) : Cloneable("Reshape", "reshape"), target_(std::move(target)) {
  if (std::count(target_.begin(), target_.end(), int64_t(-1)) > 1)
    fail("Reshape: at most one -1 in the target shape, got ", Shape(target_));
  for (int64_t d : target_)
    if (d == 0 || d < -1) fail("Reshape: target dims must be positive or -1, got ", Shape(target_));
}

Tensor Reshape::forward(const Tensor& x) {
  if (x.dim() < 1) fail("Reshape: input must have a batch dim, got shape ", x.shape());
  int64_t have = 1, want = 1;
  for (int i = 1; i < x.dim(); ++i) have *= x.size(i);
  for (int64_t d : target_) want *= d == -1 ? 1 : d;
  bool wild = std::count(target_.begin(), target_.end(), int64_t(-1)) == 1;
  if (wild ? (want == 0 || have % want != 0) : have != want)
    fail("Reshape: cannot reshape input ", x.shape(), " to (batch, ", Shape(target_), ")");
  Shape s{x.size(0)};
  for (int64_t d : target_) s.push_back(d);
  return x.reshape(s);
}

Permute::Permute(std::vector<int> dims) : Cloneable("Permute", "permute"), dims_(std::move(dims)) {
  std::vector<int> sorted = dims_;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != int(i) + 1) fail("Permute: dims must be a permutation of 1..", dims_.size(), " (Keras counts from 1)");
}

Tensor Permute::forward(const Tensor& x) {
  if (x.dim() != int(dims_.size()) + 1)
    fail("Permute: ", dims_.size(), " dims given for an input of shape ", x.shape());
  std::vector<int> p{0};
  p.insert(p.end(), dims_.begin(), dims_.end());
  return x.permute(p);
}

ZeroPadding2D::ZeroPadding2D(int64_t top, int64_t bottom, int64_t left, int64_t right)
    : Cloneable("ZeroPadding2D", "zero_padding2d"), t_(top), b_(bottom), l_(left), r_(right) {
  if (top < 0 || bottom < 0 || left < 0 || right < 0)
    fail("ZeroPadding2D: padding must be non-negative, got (", top, ", ", bottom, ", ", left, ", ", right, ")");
}

Tensor ZeroPadding2D::forward(const Tensor& x) {
  if (x.dim() != 4) fail("ZeroPadding2D: expected a 4-D input (N, C, H, W), got shape ", x.shape());
  return pad(x, {l_, r_, t_, b_});
}

}  // namespace tapeflow::nn
