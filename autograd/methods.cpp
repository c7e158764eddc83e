// Tensor's convenience methods: thin forwards to the free functions in tensor/ops.h.
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

Tensor Tensor::squeeze() const {
  detail::check_defined("squeeze", *this);
  Shape s;
  for (int64_t d : shape())
    if (d != 1) s.push_back(d);
  return tapeflow::reshape(*this, s);
}
Tensor Tensor::squeeze(int d) const { return tapeflow::squeeze(*this, d); }
Tensor Tensor::unsqueeze(int d) const { return tapeflow::unsqueeze(*this, d); }
Tensor Tensor::transpose(int a, int b) const { return tapeflow::transpose(*this, a, b); }
Tensor Tensor::permute(const std::vector<int>& dims) const { return tapeflow::permute(*this, dims); }
Tensor Tensor::T() const {
  detail::check_defined("T", *this);
  std::vector<int> p(dim());
  for (int i = 0; i < dim(); ++i) p[i] = dim() - 1 - i;
  return tapeflow::permute(*this, p);
}
Tensor Tensor::slice(int d, int64_t start, int64_t stop, int64_t step) const { return tapeflow::slice(*this, d, start, stop, step); }
Tensor Tensor::select(int d, int64_t i) const { return tapeflow::select(*this, d, i); }
Tensor Tensor::expand(const Shape& s) const { return tapeflow::expand(*this, s); }
std::vector<Tensor> Tensor::split(int64_t size, int d) const { return tapeflow::split(*this, size, d); }
std::vector<Tensor> Tensor::chunk(int64_t n, int d) const { return tapeflow::chunk(*this, n, d); }

Tensor Tensor::neg() const { return tapeflow::neg(*this); }
Tensor Tensor::abs() const { return tapeflow::abs(*this); }
Tensor Tensor::exp() const { return tapeflow::exp(*this); }
Tensor Tensor::log() const { return tapeflow::log(*this); }
Tensor Tensor::sqrt() const { return tapeflow::sqrt(*this); }
Tensor Tensor::square() const { return tapeflow::square(*this); }
Tensor Tensor::tanh() const { return tapeflow::tanh(*this); }
Tensor Tensor::sigmoid() const { return tapeflow::sigmoid(*this); }
Tensor Tensor::relu() const { return tapeflow::relu(*this); }
Tensor Tensor::pow(const Tensor& e) const { return tapeflow::pow(*this, e); }
Tensor Tensor::pow(Scalar e) const { return tapeflow::pow(*this, e); }
Tensor Tensor::clamp(Scalar lo, Scalar hi) const { return tapeflow::clamp(*this, lo, hi); }

Tensor Tensor::sum(Axes a, bool k) const { return tapeflow::sum(*this, a, k); }
Tensor Tensor::mean(Axes a, bool k) const { return tapeflow::mean(*this, a, k); }
Tensor Tensor::prod(Axes a, bool k) const { return tapeflow::prod(*this, a, k); }
Tensor Tensor::max(Axes a, bool k) const { return tapeflow::max(*this, a, k); }
Tensor Tensor::min(Axes a, bool k) const { return tapeflow::min(*this, a, k); }
Tensor Tensor::argmax(int axis, bool k) const { return tapeflow::argmax(*this, axis, k); }
Tensor Tensor::argmin(int axis, bool k) const { return tapeflow::argmin(*this, axis, k); }
Tensor Tensor::argmax() const { return tapeflow::argmax(*this); }
Tensor Tensor::argmin() const { return tapeflow::argmin(*this); }
Tensor Tensor::var(Axes a, int64_t c, bool k) const { return tapeflow::var(*this, a, c, k); }
Tensor Tensor::std(Axes a, int64_t c, bool k) const { return tapeflow::std(*this, a, c, k); }
Tensor Tensor::logsumexp(Axes a, bool k) const { return tapeflow::logsumexp(*this, a, k); }
Tensor Tensor::all(Axes a, bool k) const { return tapeflow::all(*this, a, k); }
Tensor Tensor::any(Axes a, bool k) const { return tapeflow::any(*this, a, k); }

}  // namespace tapeflow
