// Convolutions (conv1d, conv2d, conv_transpose1d/2d) and unfold / fold: values and gradients
// against PyTorch (tests/conv_refs.h, made by tests/data/make_conv_refs.py) and against direct
// float64 loops written here, gradchecks (first and second order), and the errors.
#include <catch2/catch.hpp>

#include "conv_test_util.h"

namespace tf = tapeflow;
using tf::Shape;
using tf::Size2;
using tf::Tensor;
using convtest::rnd;
using convtest::arg;
using convtest::check_ref;
using convtest::gradcheck;

namespace {

// Direct float64 cross-correlation: x (N, C, H, W), w (O, C/g, kh, kw), explicit top/left and
// bottom/right padding.
std::vector<double> direct_conv2d(const Tensor& xt, const Tensor& wt, const Tensor& bt, int64_t sh, int64_t sw,
                                  int64_t pt, int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw, int64_t g,
                                  Shape& out_shape) {
  auto x = xt.astype(tf::kFloat64).to_vector<double>();
  auto w = wt.astype(tf::kFloat64).to_vector<double>();
  const int64_t N = xt.size(0), C = xt.size(1), H = xt.size(2), W = xt.size(3);
  const int64_t O = wt.size(0), Cg = wt.size(1), KH = wt.size(2), KW = wt.size(3);
  const int64_t OH = (H + pt + pb - dh * (KH - 1) - 1) / sh + 1, OW = (W + pl + pr - dw * (KW - 1) - 1) / sw + 1;
  out_shape = Shape{N, O, OH, OW};
  std::vector<double> y(size_t(N * O * OH * OW), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = bt.defined() ? bt.astype(tf::kFloat64).to_vector<double>()[size_t(o)] : 0.0;
          const int64_t grp = o / (O / g);
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                int64_t h = oh * sh - pt + i * dh, ww = ow * sw - pl + j * dw;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                s += x[size_t(((n * C + grp * Cg + c) * H + h) * W + ww)] * w[size_t(((o * Cg + c) * KH + i) * KW + j)];
              }
          y[size_t(((n * O + o) * OH + oh) * OW + ow)] = s;
        }
  return y;
}

// Direct transposed convolution: every input element scatters input * w into the output.
std::vector<double> direct_conv_transpose2d(const Tensor& xt, const Tensor& wt, int64_t s, int64_t p, int64_t op,
                                            int64_t d, int64_t g, Shape& out_shape) {
  auto x = xt.to_vector<double>();
  auto w = wt.to_vector<double>();
  const int64_t N = xt.size(0), C = xt.size(1), H = xt.size(2), W = xt.size(3);
  const int64_t Og = wt.size(1), KH = wt.size(2), KW = wt.size(3), Cg = C / g, O = Og * g;
  const int64_t OH = (H - 1) * s - 2 * p + d * (KH - 1) + op + 1, OW = (W - 1) * s - 2 * p + d * (KW - 1) + op + 1;
  out_shape = Shape{N, O, OH, OW};
  std::vector<double> y(size_t(N * O * OH * OW), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t ww = 0; ww < W; ++ww)
          for (int64_t m = 0; m < Og; ++m)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                int64_t oh = h * s - p + i * d, ow = ww * s - p + j * d, o = (c / Cg) * Og + m;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                y[size_t(((n * O + o) * OH + oh) * OW + ow)] +=
                    x[size_t(((n * C + c) * H + h) * W + ww)] * w[size_t(((c * Og + m) * KH + i) * KW + j)];
              }
  return y;
}


}  // namespace

TEST_CASE("conv2d / conv1d match PyTorch: values and gradients", "[conv]") {
  using V = const std::vector<Tensor>&;
  check_ref(kRef_conv2d_basic, {{2, 3, 7, 6}, {4, 3, 3, 3}, {4}}, [](V a) { return tf::conv2d(a[0], a[1], a[2], 1, 1); });
  check_ref(kRef_conv2d_stride_gt_kernel, {{1, 2, 9, 8}, {3, 2, 2, 2}},
            [](V a) { return tf::conv2d(a[0], a[1], Tensor(), 3, 0); });
  check_ref(kRef_conv2d_big_pad, {{2, 2, 5, 5}, {2, 2, 3, 3}, {2}},
            [](V a) { return tf::conv2d(a[0], a[1], a[2], {2, 1}, 2); });
  check_ref(kRef_conv2d_dilation_groups, {{2, 4, 7, 7}, {6, 2, 3, 3}},
            [](V a) { return tf::conv2d(a[0], a[1], Tensor(), 1, {1, 2}, 2, 2); });
  check_ref(kRef_conv2d_depthwise, {{1, 3, 6, 5}, {6, 1, 3, 3}, {6}},
            [](V a) { return tf::conv2d(a[0], a[1], a[2], 2, 1, 1, 3); });
  check_ref(kRef_conv2d_same_even, {{2, 2, 6, 7}, {3, 2, 4, 3}},
            [](V a) { return tf::conv2d(a[0], a[1], Tensor(), 1, "same", {1, 2}); });
  check_ref(kRef_conv2d_valid_1x1, {{2, 3, 4, 5}, {5, 3, 1, 1}, {5}},
            [](V a) { return tf::conv2d(a[0], a[1], a[2], 1, "valid"); });
  check_ref(kRef_conv1d_basic, {{2, 3, 11}, {4, 3, 3}, {4}}, [](V a) { return tf::conv1d(a[0], a[1], a[2], 2, 1, 2); });
  check_ref(kRef_conv1d_same_groups, {{1, 4, 9}, {6, 2, 4}},
            [](V a) { return tf::conv1d(a[0], a[1], Tensor(), 1, "same", 1, 2); });
}

TEST_CASE("conv_transpose2d / conv_transpose1d match PyTorch", "[conv]") {
  using V = const std::vector<Tensor>&;
  check_ref(kRef_conv_transpose2d_basic, {{2, 4, 4, 5}, {4, 3, 3, 3}, {3}},
            [](V a) { return tf::conv_transpose2d(a[0], a[1], a[2], 2, 1, 1); });
  check_ref(kRef_conv_transpose2d_groups_dilation, {{1, 4, 3, 3}, {4, 2, 2, 3}},
            [](V a) { return tf::conv_transpose2d(a[0], a[1], Tensor(), {2, 3}, {0, 1}, {1, 0}, 2, 2); });
  check_ref(kRef_conv_transpose1d_basic, {{2, 2, 5}, {2, 3, 4}, {3}},
            [](V a) { return tf::conv_transpose1d(a[0], a[1], a[2], 3, 1, 2); });
}

TEST_CASE("unfold / fold match PyTorch", "[conv]") {
  using V = const std::vector<Tensor>&;
  check_ref(kRef_unfold_basic, {{2, 2, 5, 6}}, [](V a) { return tf::unfold(a[0], {2, 3}, {2, 1}, 1, {1, 2}); });
  check_ref(kRef_fold_basic, {{2, 12, 15}}, [](V a) { return tf::fold(a[0], {5, 6}, {2, 3}, {2, 1}, 1, {1, 2}); });
}

TEST_CASE("conv2d matches a direct float64 loop on awkward shapes", "[conv]") {
  struct Case { Shape x, w; int64_t sh, sw, pad, dh, dw, groups; bool bias; };
  const Case cases[] = {
      {{1, 1, 5, 5}, {1, 1, 5, 5}, 1, 1, 0, 1, 1, 1, true},   // kernel = input
      {{3, 2, 7, 4}, {3, 2, 2, 3}, 4, 5, 0, 1, 1, 1, true},   // stride > kernel, odd sizes
      {{2, 3, 3, 5}, {6, 1, 3, 3}, 1, 2, 2, 1, 1, 3, false},  // depthwise x2, pad > k/2
      {{1, 4, 9, 8}, {2, 2, 3, 2}, 2, 1, 1, 2, 3, 2, true},   // dilation, groups
      {{2, 6, 6, 6}, {6, 1, 3, 3}, 1, 1, 1, 1, 1, 6, true},   // groups = channels
  };
  uint64_t seed = 40;
  for (const Case& c : cases) {
    Tensor x = rnd(c.x, ++seed), w = rnd(c.w, ++seed), b = c.bias ? rnd({c.w[0]}, ++seed) : Tensor();
    Shape ys;
    auto want = direct_conv2d(x, w, b, c.sh, c.sw, c.pad, c.pad, c.pad, c.pad, c.dh, c.dw, c.groups, ys);
    Tensor y = tf::conv2d(x, w, b, {c.sh, c.sw}, c.pad, {c.dh, c.dw}, c.groups);
    REQUIRE(y.shape() == ys);
    convtest::check_close(y, want, 1e-12, "conv2d vs direct loop");
    Tensor y32 = tf::conv2d(x.astype(tf::kFloat32), w.astype(tf::kFloat32),
                            b.defined() ? b.astype(tf::kFloat32) : b, {c.sh, c.sw}, c.pad, {c.dh, c.dw}, c.groups);
    convtest::check_close(y32, want, 1e-5, "float32 conv2d vs direct loop");
  }
  SECTION("same padding puts the odd extra on the bottom / right") {
    Tensor x = rnd({1, 2, 5, 6}, 7), w = rnd({3, 2, 2, 4}, 8);
    Shape ys;
    auto want = direct_conv2d(x, w, Tensor(), 1, 1, 0, 1, 1, 2, 1, 1, 1, ys);
    Tensor y = tf::conv2d(x, w, Tensor(), 1, "same");
    REQUIRE(y.shape() == Shape{1, 3, 5, 6});
    convtest::check_close(y, want, 1e-12, "same padding");
  }
  SECTION("conv1d on a length-1 sequence and with stride > kernel") {
    Tensor x = rnd({2, 3, 1}, 11), w = rnd({4, 3, 3}, 12), b = rnd({4}, 13);
    Shape ys;
    auto want = direct_conv2d(x.unsqueeze(2), w.unsqueeze(2), b, 1, 1, 0, 0, 1, 1, 1, 1, 1, ys);
    Tensor y = tf::conv1d(x, w, b, 1, 1);
    REQUIRE(y.shape() == Shape{2, 4, 1});
    convtest::check_close(y, want, 1e-12, "conv1d, L = 1");
    Tensor x2 = rnd({1, 2, 10}, 14), w2 = rnd({2, 1, 2}, 15);
    auto want2 = direct_conv2d(x2.unsqueeze(2), w2.unsqueeze(2), Tensor(), 1, 4, 0, 0, 1, 1, 1, 1, 2, ys);
    Tensor y2 = tf::conv1d(x2, w2, Tensor(), 4, 1, 1, 2);
    REQUIRE(y2.shape() == Shape{1, 2, 3});
    convtest::check_close(y2, want2, 1e-12, "conv1d, stride 4 > kernel 2, depthwise");
  }
  SECTION("unbatched input and non-contiguous operands") {
    Tensor x = rnd({6, 5, 3}, 9).permute({2, 0, 1}), w = rnd({4, 3, 2, 2}, 10).transpose(2, 3);
    Tensor y = tf::conv2d(x, w, Tensor(), 1, 1);
    Shape ys;
    auto want = direct_conv2d(x.contiguous().unsqueeze(0), w.contiguous(), Tensor(), 1, 1, 1, 1, 1, 1, 1, 1, 1, ys);
    REQUIRE(y.shape() == Shape{4, 7, 6});
    convtest::check_close(y, want, 1e-12, "unbatched");
  }
}

TEST_CASE("conv_transpose2d matches a direct scatter loop", "[conv]") {
  struct Case { Shape x, w; int64_t s, p, op, d, g; };
  const Case cases[] = {
      {{1, 2, 3, 4}, {2, 3, 3, 3}, 2, 0, 1, 1, 1},
      {{2, 4, 3, 3}, {4, 1, 2, 2}, 3, 1, 2, 1, 4},   // depthwise, output_padding 2 < stride 3
      {{1, 2, 4, 2}, {2, 2, 3, 3}, 1, 2, 1, 2, 1},   // output_padding < dilation, pad > k/2
  };
  uint64_t seed = 70;
  for (const Case& c : cases) {
    Tensor x = rnd(c.x, ++seed), w = rnd(c.w, ++seed);
    Shape ys;
    auto want = direct_conv_transpose2d(x, w, c.s, c.p, c.op, c.d, c.g, ys);
    Tensor y = tf::conv_transpose2d(x, w, Tensor(), c.s, c.p, c.op, c.g, c.d);
    REQUIRE(y.shape() == ys);
    convtest::check_close(y, want, 1e-12, "conv_transpose2d vs direct loop");
  }
}

TEST_CASE("gradcheck: convolutions, unfold and fold (first and second order)", "[conv][gradcheck]") {
  using V = const std::vector<Tensor>&;
  gradcheck([](V a) { return tf::conv2d(a[0], a[1], a[2], {2, 1}, 1, {1, 2}); }, {rnd({2, 2, 5, 4}, 1), rnd({3, 2, 2, 2}, 2), rnd({3}, 3)});
  gradcheck([](V a) { return tf::conv2d(a[0], a[1], Tensor(), 1, "same", 1, 2); }, {rnd({1, 4, 3, 4}, 4), rnd({2, 2, 2, 3}, 5)});
  gradcheck([](V a) { return tf::conv1d(a[0], a[1], a[2], 2, 2, 1, 3); }, {rnd({2, 3, 6}, 6), rnd({3, 1, 3}, 7), rnd({3}, 8)});
  gradcheck([](V a) { return tf::conv_transpose2d(a[0], a[1], a[2], 2, 1, 1, 1, 1); },
            {rnd({1, 2, 3, 2}, 9), rnd({2, 2, 3, 2}, 10), rnd({2}, 11)});
  gradcheck([](V a) { return tf::conv_transpose1d(a[0], a[1], Tensor(), 2, 0, 1, 2, 2); }, {rnd({2, 2, 3}, 12), rnd({2, 1, 2}, 13)});
  gradcheck([](V a) { return tf::unfold(a[0], {2, 3}, 1, 1, {2, 1}); }, {rnd({1, 2, 4, 3}, 14)});
  gradcheck([](V a) { return tf::fold(a[0], {3, 4}, 2, 1, 0, 1); }, {rnd({2, 8, 6}, 15)});
  // Second order: the gradients (w.r.t. input and weight) as functions of input and weight.
  gradcheck(convtest::grad_of([](V a) { return tf::conv2d(a[0], a[1], a[2], 2, 1); }, 16),
            {rnd({1, 2, 4, 3}, 17), rnd({2, 2, 2, 2}, 18), rnd({2}, 19)});
  gradcheck(convtest::grad_of([](V a) { return tf::conv_transpose2d(a[0], a[1], Tensor(), 2, 0, 1); }, 20),
            {rnd({1, 2, 2, 2}, 21), rnd({2, 1, 2, 2}, 22)});
}

TEST_CASE("convolution errors name the op and the shapes and leave the inputs unchanged", "[conv][errors]") {
  using Catch::Contains;
  Tensor x = rnd({2, 4, 5, 5}, 1), w = rnd({6, 2, 3, 3}, 2), b = rnd({6}, 3);
  Tensor x0 = x.clone(), w0 = w.clone();
  REQUIRE_THROWS_WITH(tf::conv2d(x, rnd({6, 4, 7, 7}, 4)),
                      Contains("conv2d: the dilated kernel (7, 7) is larger than the padded input (5, 5)") &&
                          Contains("(2, 4, 5, 5)"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, 1, 1, 4, 2), Contains("conv2d: the dilated kernel (9, 9) is larger than the padded input (7, 7)"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, 0, 1, 1, 2), Contains("conv2d: stride must be positive, got (0, 0)"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, {1, -2}, 1, 1, 2), Contains("stride must be positive, got (1, -2)"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, 1, 1, 1, 3),
                      Contains("conv2d: input channels (4, input shape (2, 4, 5, 5)) are not divisible by groups = 3"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, rnd({5, 2, 3, 3}, 5), Tensor(), 1, 1, 1, 2),
                      Contains("output channels (5, weight shape (5, 2, 3, 3)) are not divisible by groups = 2"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w), Contains("conv2d: weight of shape (6, 2, 3, 3) expects 2 input channels") &&
                                            Contains("input of shape (2, 4, 5, 5) has 4"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, rnd({6, 4, 3}, 6)), Contains("conv2d: expected a 4-D weight, got shape (6, 4, 3)"));
  REQUIRE_THROWS_WITH(tf::conv2d(rnd({4, 5}, 7), w),
                      Contains("conv2d: expected a 3-D (channels, height, width) or 4-D") && Contains("got shape (4, 5)"));
  REQUIRE_THROWS_WITH(tf::conv1d(x, w), Contains("conv1d: expected a 2-D (channels, length) or 3-D"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, rnd({5}, 8), 1, 1, 1, 2), Contains("conv2d: expected a bias of shape (6,), got (5,)"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, 2, "same", 1, 2), Contains("conv2d: padding=\"same\" needs stride 1"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, 1, "full", 1, 2), Contains("conv2d: padding must be numbers, \"valid\" or \"same\", got \"full\""));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w, b, 1, -1, 1, 2), Contains("conv2d: padding must be non-negative, got (-1, -1)"));
  REQUIRE_THROWS_WITH(tf::conv2d(x, w.astype(tf::kFloat32), b, 1, 1, 1, 2),
                      Contains("conv2d: input (float64) and weight (float32) must have the same dtype"));
  REQUIRE_THROWS_WITH(tf::conv2d(x.astype(tf::kInt64), w.astype(tf::kInt64)), Contains("conv2d: expected a float32 or float64"));
  REQUIRE_THROWS_WITH(tf::conv1d(rnd({1, 2, 3}, 9), rnd({1, 2, 4}, 10)),
                      Contains("conv1d: the dilated kernel 4 is larger than the padded input 3"));
  REQUIRE_THROWS_WITH(tf::conv_transpose2d(x, rnd({4, 2, 3, 3}, 11), Tensor(), 2, 1, 2),
                      Contains("conv_transpose2d: output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)"));
  REQUIRE_THROWS_WITH(tf::conv_transpose2d(x, rnd({3, 2, 3, 3}, 12)),
                      Contains("conv_transpose2d: weight of shape (3, 2, 3, 3) expects 3 input channels"));
  REQUIRE_THROWS_WITH(tf::conv_transpose2d(rnd({1, 1, 1, 1}, 13), rnd({1, 1, 1, 1}, 14), Tensor(), 1, 1),
                      Contains("conv_transpose2d: the output size (-1, -1) is not positive"));
  REQUIRE_THROWS_WITH(tf::unfold(x, 6), Contains("unfold: the dilated kernel (6, 6) is larger than the padded input (5, 5)"));
  REQUIRE_THROWS_WITH(tf::unfold(x, 2, 1, 0, 0), Contains("unfold: stride must be positive"));
  REQUIRE_THROWS_WITH(tf::fold(rnd({1, 8, 5}, 15), {3, 4}, 2),
                      Contains("fold: input of shape (1, 8, 5) has 5 blocks, but output_size (3, 4)") && Contains("gives 6"));
  REQUIRE_THROWS_WITH(tf::fold(rnd({1, 7, 6}, 16), {3, 4}, 2), Contains("fold: input of shape (1, 7, 6): dim 1 (7) is not divisible"));
  CHECK(tf::all(tf::eq(x, x0)).item<bool>());
  CHECK(tf::all(tf::eq(w, w0)).item<bool>());
}
