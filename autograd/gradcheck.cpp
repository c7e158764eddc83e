// The gradient checker: analytic gradients of sum(f(x) * w) against central differences, in
// float64, with the inputs' memory layout (transposed, sliced) preserved.
#include <cmath>
#include <random>
#include <sstream>

#include "autograd/autograd.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow::autograd {

using namespace detail;

namespace {

// A float64 leaf with the same shape, strides and offset as t (so non-contiguous stays so).
Tensor same_layout_f64(const Tensor& t) {
  int64_t extent = t.offset() + 1;
  for (int i = 0; i < t.dim(); ++i)
    if (t.shape()[i] > 0) extent += (t.shape()[i] - 1) * t.strides()[i];
  Tensor base = zeros({extent}, Options(kFloat64, t.device()));
  Tensor v = make_view_of(base, t.shape(), t.strides(), t.offset());
  {
    NoGradGuard ng;
    v.copy_(t.detach());
  }
  return v;
}

// The 0-d view of logical element `flat` of t.
Tensor element(const Tensor& t, int64_t flat) {
  int64_t off = t.offset();
  for (int i = t.dim() - 1; i >= 0; --i) {
    off += (flat % t.shape()[i]) * t.strides()[i];
    flat /= t.shape()[i];
  }
  return make_view_of(t, Shape{}, Strides{}, off);
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  GradcheckResult res;
  try {
    std::vector<Tensor> xs, diff;
    std::vector<size_t> diff_index;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (is_floating(inputs[i].dtype())) {
        Tensor x = same_layout_f64(inputs[i]);
        x.requires_grad_(true);
        xs.push_back(x);
        diff.push_back(x);
        diff_index.push_back(i);
      } else {
        xs.push_back(inputs[i]);
      }
    }
    Tensor out = f(xs);
    if (!is_floating(out.dtype())) {
      res.ok = false;
      res.message = "gradcheck: f returned a non-floating tensor of dtype " + std::string(dtype_name(out.dtype()));
      return res;
    }
    std::mt19937_64 rng(1234);
    std::uniform_real_distribution<double> dist(0.5, 1.5);
    std::vector<double> wv(out.numel());
    for (double& w : wv) w = dist(rng) * ((rng() & 1) ? 1 : -1);
    Tensor w = from_vector(wv, out.shape()).to(out.device());
    auto loss_of = [&](const Tensor& o) { return sum(o.astype(kFloat64) * w); };
    std::vector<Tensor> analytic = grad({loss_of(out)}, diff, {}, false, false, true);

    NoGradGuard ng;
    for (size_t k = 0; k < diff.size(); ++k) {
      Tensor x = diff[k];
      std::vector<double> a = analytic[k].defined() ? analytic[k].to_vector<double>() : std::vector<double>(x.numel(), 0.0);
      for (int64_t j = 0; j < x.numel(); ++j) {
        Tensor e = element(x, j);
        double orig = e.item<double>();
        e.fill_(orig + eps);
        double fp = loss_of(f(xs)).item<double>();
        e.fill_(orig - eps);
        double fm = loss_of(f(xs)).item<double>();
        e.fill_(orig);
        double num = (fp - fm) / (2 * eps);
        if (!(std::fabs(a[j] - num) <= atol + rtol * std::fabs(num))) {
          std::ostringstream os;
          os << "gradcheck: input " << diff_index[k] << " (shape " << x.shape() << "), element " << j
             << ": analytic " << a[j] << " vs numerical " << num << " (diff " << std::fabs(a[j] - num) << ")";
          res.ok = false;
          res.message = os.str();
          return res;
        }
      }
    }
  } catch (const std::exception& ex) {
    res.ok = false;
    res.message = std::string("gradcheck: f threw: ") + ex.what();
  }
  return res;
}

}  // namespace tapeflow::autograd
