// The Backend base class's default (fallback) fused entries, softmax and softmax_backward, built
// from the primitives: called non-virtually (be.Backend::softmax) on every device and compared
// with float64 loops written here, and with the device's own fused kernel.
#include <cmath>
#include <vector>

#include "devices.h"
#include "helpers.h"
#include "backends/backend.h"
#include "tensor/internal.h"

using namespace tapeflow;

namespace {

// Softmax (or log-softmax) of a contiguous (A, B, C) array over `axis`, in float64.
std::vector<double> ref_softmax(const std::vector<double>& x, const Shape& s, int axis, bool log) {
  std::vector<double> y(x.size());
  int64_t st[3] = {s[1] * s[2], s[2], 1};
  for (int64_t i = 0; i < (int64_t)x.size(); ++i) {
    int64_t base = i - ((i / st[axis]) % s[axis]) * st[axis];
    double m = -INFINITY, z = 0;
    for (int64_t k = 0; k < s[axis]; ++k) m = std::max(m, x[size_t(base + k * st[axis])]);
    for (int64_t k = 0; k < s[axis]; ++k) z += std::exp(x[size_t(base + k * st[axis])] - m);
    y[size_t(i)] = log ? x[size_t(i)] - m - std::log(z) : std::exp(x[size_t(i)] - m) / z;
  }
  return y;
}

// Their backward: y * (gy - sum(gy * y)), or for log: gy - exp(y) * sum(gy).
std::vector<double> ref_backward(const std::vector<double>& y, const std::vector<double>& gy,
                                 const Shape& s, int axis, bool log) {
  std::vector<double> gx(y.size());
  int64_t st[3] = {s[1] * s[2], s[2], 1};
  for (int64_t i = 0; i < (int64_t)y.size(); ++i) {
    int64_t base = i - ((i / st[axis]) % s[axis]) * st[axis];
    double acc = 0;
    for (int64_t k = 0; k < s[axis]; ++k) {
      size_t j = size_t(base + k * st[axis]);
      acc += log ? gy[j] : gy[j] * y[j];
    }
    size_t u = size_t(i);
    gx[u] = log ? gy[u] - std::exp(y[u]) * acc : y[u] * (gy[u] - acc);
  }
  return gx;
}

}  // namespace

TEST_CASE("the backend's default softmax and softmax_backward on every device", "[backend]") {
  TF_EACH_DEVICE();
  backend::Backend& be = backend::backend_for(dev);
  manual_seed(5);
  Shape s{3, 4, 5};
  for (DType dt : {kFloat64, kFloat32}) {
    double tol = dt == kFloat64 ? 1e-12 : 1e-5;
    Tensor x = on_dev((randn(s, Options(kFloat64)) * 3.0).astype(dt));
    Tensor gy = on_dev(randn(s, Options(kFloat64)).astype(dt));
    std::vector<double> xv = x.to_vector<double>(), gv = gy.to_vector<double>();
    for (int axis = 0; axis < 3; ++axis) {
      for (bool log : {false, true}) {
        INFO("dtype " << dtype_name(dt) << " axis " << axis << (log ? " log" : ""));
        Tensor y = zeros(s, Options(dt, dev)), fused = zeros(s, Options(dt, dev));
        be.Backend::softmax(detail::view_of(x), axis, log, detail::view_of(y));
        std::vector<double> want = ref_softmax(xv, s, axis, log);
        CHECK_THAT(y, tftest::Values(want, tol));
        be.softmax(detail::view_of(x), axis, log, detail::view_of(fused));
        CHECK_THAT(fused, tftest::Values(y.to_vector<double>(), tol));
        Tensor gx = zeros(s, Options(dt, dev));
        be.Backend::softmax_backward(detail::view_of(y), detail::view_of(gy), axis, log, detail::view_of(gx));
        CHECK_THAT(gx, tftest::Values(ref_backward(y.to_vector<double>(), gv, s, axis, log), tol));
      }
    }
  }
}
