// Keras shape layers: Reshape(target) ((N, ...) -> (N, target...), one -1 allowed),
// Permute(dims) (1-based over the non-batch dims, as Keras), ZeroPadding2D(pad) (pads H and W
// of (N, C, H, W) with zeros: pad, (ph, pw) or top, bottom, left, right).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/cloneable.h"

namespace tapeflow::nn {

class Reshape : public Cloneable<Reshape> {
 public:
  explicit Reshape(std::vector<int64_t> target_shape);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Reshape> fresh() const { return std::make_shared<Reshape>(target_); }

 private:
  std::vector<int64_t> target_;
};

class Permute : public Cloneable<Permute> {
 public:
  explicit Permute(std::vector<int> dims);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Permute> fresh() const { return std::make_shared<Permute>(dims_); }

 private:
  std::vector<int> dims_;
};

class ZeroPadding2D : public Cloneable<ZeroPadding2D> {
 public:
  explicit ZeroPadding2D(int64_t pad = 1) : ZeroPadding2D(pad, pad, pad, pad) {}
  ZeroPadding2D(int64_t ph, int64_t pw) : ZeroPadding2D(ph, ph, pw, pw) {}
  ZeroPadding2D(int64_t top, int64_t bottom, int64_t left, int64_t right);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<ZeroPadding2D> fresh() const { return std::make_shared<ZeroPadding2D>(t_, b_, l_, r_); }

 private:
  int64_t t_, b_, l_, r_;
};

}  // namespace tapeflow::nn
