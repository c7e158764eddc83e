// Pooling with padding "same" (Keras semantics): the ops (max_pool1d/2d, avg_pool1d/2d with
// padding "same") and the layers (MaxPooling1D/2D, AveragePooling1D/2D). Output ceil(in /
// stride), the total padding max((out - 1) * stride + k - in, 0) split with the extra on the
// bottom / right, average over the input positions only. Checked against hand values and a
// float64 loop written from that definition (values and the gradient of sum(y * w)), and
// gradchecked.
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>

#include "conv_test_util.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;
using tf::Shape;
using tf::Size2;
using tf::Tensor;
using convtest::rnd;

namespace {

// Keras "same" pooling of an (N, C, H, W) float64 plane stack, and d(sum(y * w))/dx.
struct SameRef {
  std::vector<double> y, gx;
  int64_t oh = 0, ow = 0;
};
SameRef same_ref(const std::vector<double>& x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                 int64_t sh, int64_t sw, bool is_max, const std::vector<double>* w) {
  SameRef r;
  r.oh = (H + sh - 1) / sh;
  r.ow = (W + sw - 1) / sw;
  const int64_t th = std::max<int64_t>((r.oh - 1) * sh + kh - H, 0) / 2;
  const int64_t tw = std::max<int64_t>((r.ow - 1) * sw + kw - W, 0) / 2;
  r.y.assign(size_t(N * C * r.oh * r.ow), 0.0);
  r.gx.assign(x.size(), 0.0);
  for (int64_t p = 0; p < N * C; ++p)
    for (int64_t i = 0; i < r.oh; ++i)
      for (int64_t j = 0; j < r.ow; ++j) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t arg = -1, count = 0;
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b) {
            int64_t h = i * sh - th + a, v = j * sw - tw + b;
            if (h < 0 || h >= H || v < 0 || v >= W) continue;
            double xv = x[size_t((p * H + h) * W + v)];
            if (xv > best) { best = xv; arg = (p * H + h) * W + v; }
            sum += xv;
            ++count;
          }
        const size_t o = size_t((p * r.oh + i) * r.ow + j);
        r.y[o] = is_max ? best : sum / double(count);
        if (!w) continue;
        if (is_max) {
          r.gx[size_t(arg)] += (*w)[o];
          continue;
        }
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b) {
            int64_t h = i * sh - th + a, v = j * sw - tw + b;
            if (h >= 0 && h < H && v >= 0 && v < W) r.gx[size_t((p * H + h) * W + v)] += (*w)[o] / double(count);
          }
      }
  return r;
}

// One 2-D case (H = 1 for 1-D) against the loop, forward and backward, on every device.
void check_same(Shape s, Size2 k, Size2 st, bool is_max, bool one_d, uint64_t seed) {
  const int64_t N = s[0], C = s[1], H = one_d ? 1 : s[2], W = s[s.size() - 1];
  Tensor x0 = rnd(s, seed);
  SameRef probe = same_ref(x0.to_vector<double>(), N, C, H, W, one_d ? 1 : k.h, k.w, one_d ? 1 : st.h, st.w, is_max, nullptr);
  Tensor w = rnd(one_d ? Shape{N, C, probe.ow} : Shape{N, C, probe.oh, probe.ow}, seed + 100);
  std::vector<double> wv = w.to_vector<double>();
  SameRef r = same_ref(x0.to_vector<double>(), N, C, H, W, one_d ? 1 : k.h, k.w, one_d ? 1 : st.h, st.w, is_max, &wv);
  for (tf::Device dev : test_devices()) {
    INFO("shape " << s << " kernel (" << k.h << ", " << k.w << ") stride (" << st.h << ", " << st.w << ") "
                  << (is_max ? "max" : "avg") << " on " << dev.str());
    Tensor x = x0.to(dev).requires_grad_();
    Tensor y = one_d ? (is_max ? tf::max_pool1d(x, k.w, st.w, "same") : tf::avg_pool1d(x, k.w, st.w, "same"))
                     : (is_max ? tf::max_pool2d(x, k, st, "same") : tf::avg_pool2d(x, k, st, "same"));
    REQUIRE(y.shape() == w.shape());
    convtest::check_close(y.cpu(), r.y, 1e-12, "forward");
    tf::sum(y * w.to(dev)).backward();
    convtest::check_close(x.grad().cpu(), r.gx, 1e-12, "gradient");
  }
}

}  // namespace

TEST_CASE("pooling with padding 'same': hand-checked values", "[pool][same]") {
  Tensor x = tf::tensor({1.0, 2.0, 3.0, 4.0, 5.0}, tf::Options(tf::kFloat64)).reshape({1, 1, 5});
  // pool 2, stride 2 on 5: out 3, one pad on the right; the last window is {5} alone.
  CHECK(tftest::approx_vec(tf::max_pool1d(x, 2, 2, "same"), {2, 4, 5}));
  CHECK(tftest::approx_vec(tf::avg_pool1d(x, 2, 2, "same"), {1.5, 3.5, 5}));
  // pool 3, stride 1: one pad each side; Keras averages the input positions only.
  CHECK(tftest::approx_vec(tf::avg_pool1d(x, 3, 1, "same"), {1.5, 2, 3, 4, 4.5}));
  CHECK(tftest::approx_vec(tf::max_pool1d(-x, 3, 1, "same"), {-1, -1, -2, -3, -4}));
  // pool 4, stride 1: total 3, 1 on the left, 2 on the right.
  CHECK(tftest::approx_vec(tf::avg_pool1d(x, 4, 1, "same"), {2, 2.5, 3.5, 4, 4.5}));
  // count_include_pad is ignored with "same" (Keras never counts the padding).
  CHECK(tftest::approx_vec(tf::avg_pool1d(x, 2, 2, "same", false, true), {1.5, 3.5, 5}));
  // 2-D: (3, 3) input, pool 2 stride 2 -> (2, 2); the pad goes to the bottom and right.
  Tensor m = tf::arange(1.0, 10.0, 1.0, tf::Options(tf::kFloat64)).reshape({1, 1, 3, 3});
  CHECK(tftest::approx_vec(tf::max_pool2d(m, 2, 2, "same"), {5, 6, 8, 9}));
  CHECK(tftest::approx_vec(tf::avg_pool2d(m, 2, 2, "same"), {3, 4.5, 7.5, 9}));
  // "valid" is the default padding 0.
  CHECK(tf::max_pool2d(m, 2, 1, "valid").shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("pooling with padding 'same' matches a float64 loop: values and gradients", "[pool][same]") {
  check_same({2, 3, 7, 6}, 3, 2, true, false, 1);
  check_same({2, 3, 7, 6}, 3, 2, false, false, 2);
  check_same({1, 2, 5, 5}, 2, 2, true, false, 3);   // odd sizes: the extra pad bottom-right
  check_same({1, 2, 5, 5}, 2, 2, false, false, 4);
  check_same({2, 1, 4, 7}, {3, 2}, {1, 3}, false, false, 5);
  check_same({1, 2, 7, 7}, 2, 3, true, false, 6);   // stride > kernel
  check_same({1, 2, 7, 7}, 2, 3, false, false, 7);
  check_same({1, 1, 4, 3}, 5, 1, false, false, 8);  // kernel larger than the input
  check_same({1, 1, 4, 3}, 5, 1, true, false, 9);
  check_same({2, 2, 9}, 4, 3, true, true, 10);      // 1-D
  check_same({2, 2, 9}, 4, 3, false, true, 11);
  check_same({1, 3, 1}, 3, 2, false, true, 12);     // length 1
}

TEST_CASE("gradcheck: pooling with padding 'same'", "[pool][same][gradcheck]") {
  using V = const std::vector<Tensor>&;
  convtest::gradcheck([](V a) { return tf::max_pool2d(a[0], 3, 2, "same"); }, {rnd({1, 2, 5, 4}, 1)});
  convtest::gradcheck([](V a) { return tf::avg_pool2d(a[0], {2, 3}, {2, 1}, "same"); }, {rnd({2, 1, 5, 4}, 2)});
  convtest::gradcheck([](V a) { return tf::max_pool1d(a[0], 2, 3, "same"); }, {rnd({1, 2, 7}, 3)});
  convtest::gradcheck([](V a) { return tf::avg_pool1d(a[0], 4, 1, "same"); }, {rnd({2, 1, 5}, 4)});
  convtest::gradcheck(convtest::grad_of([](V a) { return tf::square(tf::avg_pool2d(a[0], 2, 2, "same")); }, 5),
                      {rnd({1, 1, 3, 3}, 6)});
}

TEST_CASE("MaxPooling/AveragePooling layers with padding 'same'", "[layers][pool][same]") {
  Tensor x = rnd({2, 3, 5, 7}, 7);
  nn::MaxPooling2D mp(2, nn::PoolOptions().padding("same"));
  Tensor y = mp.forward(x);
  REQUIRE(y.shape() == Shape{2, 3, 3, 4});
  CHECK(tf::all(tf::eq(y, tf::max_pool2d(x, 2, 2, "same"))).item<bool>());
  nn::AveragePooling2D ap(3, nn::PoolOptions().strides(2).padding("same").data_format("channels_last"));
  Tensor xl = x.permute({0, 2, 3, 1});
  Tensor yl = ap.forward(xl);
  REQUIRE(yl.shape() == Shape{2, 3, 4, 3});
  convtest::check_close(yl.permute({0, 3, 1, 2}).contiguous(), tf::avg_pool2d(x, 3, 2, "same").to_vector<double>(), 1e-12,
                        "channels_last");
  nn::MaxPooling1D m1(3, nn::PoolOptions().padding("same"));
  REQUIRE(m1.forward(rnd({2, 4, 8}, 8)).shape() == Shape{2, 4, 3});
  nn::AveragePooling1D a1(2, nn::PoolOptions().strides(1).padding("same"));
  Tensor s = tf::tensor({1.0, 2.0, 4.0}, tf::Options(tf::kFloat64)).reshape({1, 1, 3});
  CHECK(tftest::approx_vec(a1.forward(s), {1.5, 3, 4}));
  // A pool larger than the input is fine with "same" (one window over everything there is).
  REQUIRE(nn::MaxPooling2D(8, nn::PoolOptions().padding("same")).forward(x).shape() == Shape{2, 3, 1, 1});
  // In a model: summary shows Keras's output shape.
  nn::Sequential model;
  model.add(nn::MaxPooling2D(2, nn::PoolOptions().padding("same")));
  model.build(Shape{3, 5, 7});
  CHECK_THAT(model.summary_string(), Catch::Contains("(None, 3, 3, 4)"));
  REQUIRE_THROWS_WITH(nn::MaxPooling2D(2, nn::PoolOptions().padding("full")),
                      Catch::Contains("MaxPooling2D: padding must be 'valid' or 'same', got 'full'"));
  REQUIRE_THROWS_WITH(tf::max_pool2d(x, 2, 2, "full"),
                      Catch::Contains("max_pool2d: padding must be numbers, 'valid' or 'same', got 'full'"));
}
