// Shared by tests/test_conv.cpp and tests/test_pool.cpp: formula inputs (the same formula as
// tests/data/make_conv_refs.py), comparison of an op's value and gradients with a PyTorch
// reference from tests/conv_refs.h, on every test device, and a float64 gradcheck helper.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "conv_refs.h"
#include "devices.h"
#include "helpers.h"
#include "tapeflow.h"

namespace convtest {

using tapeflow::Tensor;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// A float64 tensor of standard normal values from a fixed seed (the tests' inputs).
inline Tensor rnd(const tapeflow::Shape& s, uint64_t seed) {
  tapeflow::manual_seed(seed);
  return tapeflow::randn(s, tapeflow::kFloat64);
}

// Element i of input k: sin(0.37 i + k + 0.1), rounded to quarters with `ties`.
inline Tensor arg(const tapeflow::Shape& shape, int k, bool ties = false) {
  std::vector<double> v(size_t(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = std::sin(0.37 * double(i) + k + 0.1);
    if (ties) v[i] = std::nearbyint(v[i] * 4) / 4;
  }
  return tapeflow::from_vector(v, shape);
}

inline void check_close(const Tensor& t, const std::vector<double>& want, double tol, const char* what) {
  INFO(what);
  REQUIRE(t.defined());
  std::vector<double> got = t.astype(tapeflow::kFloat64).cpu().to_vector<double>();
  REQUIRE(got.size() == want.size());
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double e = std::fabs(got[i] - want[i]) / (1.0 + std::fabs(want[i]));
    if (!(e <= worst)) { worst = e; at = i; }
  }
  INFO("worst element " << at << ": got " << got[at] << ", want " << want[at]);
  CHECK(worst <= tol);
}

// Runs f on formula inputs of `shapes` (float64 and float32, on every device) and compares the
// output and the gradients of sum(y * cos(0.23 i)) with the reference.
inline void check_ref(const ConvRef& ref, const std::vector<tapeflow::Shape>& shapes, const Fn& f,
                      bool ties = false) {
  namespace tf = tapeflow;
  for (tf::Device dev : test_devices())
    for (tf::DType dt : {tf::kFloat64, tf::kFloat32}) {
      INFO("device " << dev << ", dtype " << dt);
      const double tol = dt == tf::kFloat64 ? 1e-10 : 2e-5;
      std::vector<Tensor> xs;
      for (size_t k = 0; k < shapes.size(); ++k) {
        Tensor x = arg(shapes[k], int(k), ties).astype(dt).to(dev);
        x.requires_grad_();
        xs.push_back(x);
      }
      Tensor y = f(xs);
      REQUIRE(y.shape() == tf::Shape(ref.shape));
      check_close(y, ref.y, tol, "forward");
      std::vector<double> w(size_t(y.numel()));
      for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.23 * double(i));
      Tensor wt = tf::from_vector(w, y.shape()).astype(dt).to(dev);
      tf::sum(y * wt).backward();
      for (size_t k = 0; k < xs.size(); ++k) {
        INFO("gradient of input " << k);
        check_close(xs[k].grad(), ref.grads[k], tol, "gradient");
      }
    }
}

inline void gradcheck(const Fn& f, const std::vector<Tensor>& in) {
  auto r = tapeflow::autograd::gradcheck(f, in, 1e-6, 1e-6, 1e-4);
  INFO(r.message);
  REQUIRE(r.ok);
}

// The gradient of sum(f(x) * v) with respect to every input, as a differentiable function of
// the inputs (create_graph): gradchecking it checks the second derivative.
inline Fn grad_of(const Fn& f, uint64_t seed) {
  return [f, seed](const std::vector<Tensor>& xs) {
    tapeflow::GradModeGuard on(true);  // gradcheck evaluates f under no_grad for its differences
    Tensor y = f(xs);
    tapeflow::manual_seed(seed);
    Tensor v = tapeflow::randn(y.shape(), tapeflow::Options(y.dtype(), y.device()));
    auto gs = tapeflow::grad({tapeflow::sum(y * v)}, xs, {}, true, true, true);
    Tensor out = tapeflow::zeros({1}, tapeflow::Options(y.dtype(), y.device()));
    for (auto& g : gs)
      if (g.defined()) out = tapeflow::concat({out, g.reshape({-1})});
    return out;
  };
}

}  // namespace convtest
