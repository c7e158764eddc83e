// batch_norm and layer_norm: values and gradients against PyTorch (tests/nn_refs.h), running
// statistics updated as PyTorch does, float32 stability with a large mean, gradchecks (first
// and second order) and errors.
#include <catch2/catch.hpp>

#include "nn_test_util.h"

namespace tf = tapeflow;
using tf::Tensor;
using namespace nntest;
using Catch::Matchers::Contains;

TEST_CASE("batch_norm matches PyTorch in training and eval", "[norm]") {
  check_ref(kRef_bn_train_nchw, {{2, 3, 4, 5}, {3}, {3}}, [](V a) { return tf::batch_norm(a[0], {}, {}, a[1], a[2], true); });
  check_ref(kRef_bn_train_nc, {{4, 3}, {3}, {3}},
            [](V a) { return tf::batch_norm(a[0], {}, {}, a[1], a[2], true, 0.1, 1e-3); });
  check_ref(kRef_bn_train_ncl_batch1, {{1, 3, 4}}, [](V a) { return tf::batch_norm(a[0], {}, {}, {}, {}, true); });
  check_ref(kRef_bn_eval_ncl, {{2, 3, 5}, {3}, {3}}, [](V a) {
    Tensor m = tf::linspace(-0.5, 0.5, 3, like(a[0])), v = tf::linspace(0.5, 1.5, 3, like(a[0]));
    return tf::batch_norm(a[0], m, v, a[1], a[2], false);
  });
}

TEST_CASE("batch_norm updates the running statistics in place as PyTorch does", "[norm]") {
  for (tf::Device dev : test_devices())
    for (tf::DType dt : {tf::kFloat64, tf::kFloat32}) {
      Tensor x = convtest::arg({2, 3, 4}, 0).astype(dt).to(dev);
      Tensor m = tf::linspace(-0.5, 0.5, 3, tf::Options(dt, dev)), v = tf::linspace(0.5, 1.5, 3, tf::Options(dt, dev));
      Tensor x0 = x.clone();
      tf::batch_norm(x, m, v, {}, {}, true, 0.2);
      check_close(m, kBnRunningMean, dt == tf::kFloat64 ? 1e-12 : 1e-6, "running_mean");
      check_close(v, kBnRunningVar, dt == tf::kFloat64 ? 1e-12 : 1e-6, "running_var");
      CHECK(tf::all(tf::eq(x, x0)).item<bool>());
      // eval leaves them alone
      tf::batch_norm(x, m, v, {}, {}, false, 0.2);
      check_close(m, kBnRunningMean, dt == tf::kFloat64 ? 1e-12 : 1e-6, "running_mean after eval");
    }
}

TEST_CASE("batch_norm and layer_norm are stable in float32 for a large mean", "[norm]") {
  // values 1e4 + small: a one-pass E[x^2] - E[x]^2 in float32 would lose the variance.
  Tensor base = convtest::arg({8, 2, 16}, 0);
  Tensor x32 = (base + 1e4).astype(tf::kFloat32);
  Tensor y = tf::batch_norm(x32, {}, {}, {}, {}, true);
  Tensor want = tf::batch_norm(x32.astype(tf::kFloat64), {}, {}, {}, {}, true);
  CHECK(tf::max(tf::abs(y.astype(tf::kFloat64) - want)).item<double>() < 1e-3);
  Tensor yl = tf::layer_norm(x32, {16});
  Tensor wl = tf::layer_norm(x32.astype(tf::kFloat64), {16});
  CHECK(tf::max(tf::abs(yl.astype(tf::kFloat64) - wl)).item<double>() < 1e-3);
}

TEST_CASE("layer_norm matches PyTorch", "[norm]") {
  check_ref(kRef_ln_last, {{2, 3, 4}, {4}, {4}}, [](V a) { return tf::layer_norm(a[0], {4}, a[1], a[2]); });
  check_ref(kRef_ln_last2, {{2, 3, 4}, {3, 4}, {3, 4}}, [](V a) { return tf::layer_norm(a[0], {3, 4}, a[1], a[2], 1e-3); });
  check_ref(kRef_ln_noaffine_batch1, {{1, 1, 5}}, [](V a) { return tf::layer_norm(a[0], {5}); });
}

TEST_CASE("batch_norm and layer_norm pass gradcheck (first and second order)", "[norm]") {
  convtest::Fn bn = [](V a) { return tf::batch_norm(a[0], {}, {}, a[1], a[2], true); };
  convtest::Fn bn_eval = [](V a) {
    return tf::batch_norm(a[0], tf::linspace(-0.5, 0.5, 3, like(a[0])), tf::linspace(0.5, 1.5, 3, like(a[0])), a[1], a[2]);
  };
  convtest::Fn ln = [](V a) { return tf::layer_norm(a[0], {2, 3}, a[1], a[2]); };
  std::vector<Tensor> bi{rnd({2, 3, 3}, 1), rnd({3}, 2), rnd({3}, 3)};
  std::vector<Tensor> li{rnd({2, 2, 3}, 4), rnd({2, 3}, 5), rnd({2, 3}, 6)};
  gradcheck(bn, bi);
  gradcheck(bn_eval, bi);
  gradcheck(ln, li);
  gradcheck(grad_of(bn, 7), bi);
  gradcheck(grad_of(ln, 8), li);
}

TEST_CASE("batch_norm and layer_norm reject bad input", "[norm]") {
  Tensor x = tf::zeros({2, 3, 4});
  Tensor rm = tf::zeros({3}), rv = tf::ones({3});
  REQUIRE_THROWS_WITH(tf::batch_norm(tf::zeros({3}), rm, rv),
                      Contains("batch_norm: expected a 2-D to 5-D input (N, C, ...), got shape (3,)"));
  REQUIRE_THROWS_WITH(tf::batch_norm(x, tf::zeros({4}), rv), Contains("batch_norm: running_mean must have shape (3,), got (4,)"));
  REQUIRE_THROWS_WITH(tf::batch_norm(x, {}, {}), Contains("batch_norm: eval mode (training = false) needs running_mean"));
  REQUIRE_THROWS_WITH(tf::batch_norm(tf::zeros({1, 3}), {}, {}, {}, {}, true),
                      Contains("batch_norm: expected more than 1 value per channel when training, got input shape (1, 3)"));
  Tensor rm0 = rm.clone();
  REQUIRE_THROWS(tf::batch_norm(x, rm, rv, tf::ones({2}), {}, true));
  CHECK(tf::all(tf::eq(rm, rm0)).item<bool>());
  REQUIRE_THROWS_WITH(tf::layer_norm(x, {3}),
                      Contains("layer_norm: normalized_shape (3,) must be the trailing dims of the input, got input shape (2, 3, 4)"));
  REQUIRE_THROWS_WITH(tf::layer_norm(x, {4}, tf::ones({3})), Contains("layer_norm: weight must have shape (4,), got (3,)"));
}

TEST_CASE("batch_norm and layer_norm kernels agree with the composite formula on threaded sizes", "[norm]") {
  const int threads = tf::get_num_threads();
  tf::set_num_threads(2);
  Tensor x = rnd({16, 8, 300}, 11).requires_grad_(), w = rnd({8}, 12).requires_grad_(), b = rnd({8}, 13).requires_grad_();
  Tensor gy = rnd({16, 8, 300}, 14);
  Tensor y = tf::batch_norm(x, {}, {}, w, b, true);
  auto g = tf::grad({tf::sum(y * gy)}, {x, w, b});
  Tensor m = tf::mean(x, {0, 2}, true), v = tf::var(x, {0, 2}, 0, true);
  Tensor yr = (x - m) / tf::sqrt(v + 1e-5) * w.reshape({1, 8, 1}) + b.reshape({1, 8, 1});
  auto gr = tf::grad({tf::sum(yr * gy)}, {x, w, b});
  CHECK(tf::max(tf::abs(y - yr)).item<double>() < 1e-10);
  for (int i = 0; i < 3; ++i) CHECK(tf::max(tf::abs(g[size_t(i)] - gr[size_t(i)])).item<double>() < 1e-9);
  Tensor xl = rnd({512, 300}, 15).requires_grad_(), wl = rnd({300}, 16).requires_grad_(), bl = rnd({300}, 17).requires_grad_();
  Tensor gl = rnd({512, 300}, 18);
  Tensor yl = tf::layer_norm(xl, {300}, wl, bl);
  auto h = tf::grad({tf::sum(yl * gl)}, {xl, wl, bl});
  Tensor ml = tf::mean(xl, 1, true), vl = tf::var(xl, 1, 0, true);
  Tensor ylr = (xl - ml) / tf::sqrt(vl + 1e-5) * wl + bl;
  auto hr = tf::grad({tf::sum(ylr * gl)}, {xl, wl, bl});
  CHECK(tf::max(tf::abs(yl - ylr)).item<double>() < 1e-10);
  for (int i = 0; i < 3; ++i) CHECK(tf::max(tf::abs(h[size_t(i)] - hr[size_t(i)])).item<double>() < 1e-9);
  tf::set_num_threads(threads);
}
