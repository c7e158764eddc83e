// StandardScaler: per-feature standardisation of tabular data, as scikit-learn's StandardScaler:
// each column becomes (x - mean) / std with the training set's mean and population std
// (ddof = 0) of that column; a constant column keeps std 1 (it becomes 0, not NaN).
//   data::StandardScaler sc;  sc.fit(x_train);  x_train = sc.transform(x_train);
// Statistics are computed in float64; transform keeps the input's float dtype.
#pragma once
#include "tensor/tensor.h"

namespace tapeflow::data {

struct StandardScaler {
  Tensor mean;  // (features,) float64
  Tensor scale; // (features,) float64: the std, 1 where the std is 0
  bool with_mean = true;
  bool with_std = true;
  void fit(const Tensor& x);                    // x: (N, features) float or integer
  Tensor transform(const Tensor& x) const;      // (N, features) -> same shape, float
  Tensor fit_transform(const Tensor& x) { fit(x); return transform(x); }
  Tensor inverse_transform(const Tensor& x) const;
};

}  // namespace tapeflow::data
