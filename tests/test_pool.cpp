// Pooling (max / avg, 1-D and 2-D, adaptive, global) and pad: values and gradients against
// PyTorch (tests/conv_refs.h, made by tests/data/make_conv_refs.py) and direct loops, the
// argmax routing of max pooling's gradient, gradchecks and the errors.
#include <catch2/catch.hpp>

#include "conv_test_util.h"

namespace tf = tapeflow;
using tf::Shape;
using tf::Size2;
using tf::Tensor;
using convtest::rnd;
using convtest::check_ref;
using convtest::gradcheck;

TEST_CASE("max and average pooling match PyTorch: values and gradients", "[pool]") {
  using V = const std::vector<Tensor>&;
  check_ref(kRef_max_pool2d_pad, {{2, 3, 7, 6}}, [](V a) { return tf::max_pool2d(a[0], 3, 2, 1); });
  check_ref(kRef_max_pool2d_ties, {{1, 2, 5, 4}}, [](V a) { return tf::max_pool2d(a[0], 2, 1); }, true);
  check_ref(kRef_max_pool2d_ceil_dilation, {{2, 2, 9, 8}},
            [](V a) { return tf::max_pool2d(a[0], {3, 2}, {2, 3}, {1, 1}, 2, true); });
  check_ref(kRef_max_pool1d_basic, {{2, 3, 10}}, [](V a) { return tf::max_pool1d(a[0], 4, 3, 2, 1, true); });
  check_ref(kRef_avg_pool2d_include_pad, {{2, 3, 7, 6}}, [](V a) { return tf::avg_pool2d(a[0], 3, 2, 1); });
  check_ref(kRef_avg_pool2d_exclude_pad_ceil, {{1, 2, 8, 9}},
            [](V a) { return tf::avg_pool2d(a[0], {3, 2}, {2, 3}, {1, 1}, true, false); });
  check_ref(kRef_avg_pool2d_ceil_include_pad, {{1, 2, 6, 6}}, [](V a) { return tf::avg_pool2d(a[0], 3, 2, 1, true, true); });
  check_ref(kRef_avg_pool1d_basic, {{2, 2, 8}}, [](V a) { return tf::avg_pool1d(a[0], 3, 2, 1); });
}

TEST_CASE("adaptive pooling matches PyTorch", "[pool]") {
  using V = const std::vector<Tensor>&;
  check_ref(kRef_adaptive_avg_pool2d_uneven, {{2, 3, 7, 5}}, [](V a) { return tf::adaptive_avg_pool2d(a[0], {3, 2}); });
  check_ref(kRef_adaptive_max_pool2d_uneven, {{1, 2, 7, 5}}, [](V a) { return tf::adaptive_max_pool2d(a[0], {3, 4}); });
  check_ref(kRef_adaptive_avg_pool1d_uneven, {{2, 2, 7}}, [](V a) { return tf::adaptive_avg_pool1d(a[0], 4); });
  check_ref(kRef_adaptive_max_pool1d_even, {{2, 2, 9}}, [](V a) { return tf::adaptive_max_pool1d(a[0], 3); });
}

TEST_CASE("pad matches PyTorch's F.pad", "[pool][pad]") {
  using V = const std::vector<Tensor>&;
  check_ref(kRef_pad_reflect_2d, {{2, 3, 4, 5}}, [](V a) { return tf::pad(a[0], {1, 2, 3, 1}, "reflect"); });
  check_ref(kRef_pad_replicate_2d, {{1, 2, 3, 4}}, [](V a) { return tf::pad(a[0], {2, 0, 1, 3}, "replicate"); });
  check_ref(kRef_pad_circular_2d, {{1, 2, 3, 4}}, [](V a) { return tf::pad(a[0], {1, 2, 2, 1}, "circular"); });
  check_ref(kRef_pad_constant_crop, {{2, 3, 4}}, [](V a) { return tf::pad(a[0], {2, -1, -1, 1, 1, 0}, "constant", 0.5); });
  check_ref(kRef_pad_reflect_1d, {{2, 2, 5}}, [](V a) { return tf::pad(a[0], {3, 2}, "reflect"); });
}

TEST_CASE("max pooling routes the gradient to the first maximum of each window", "[pool]") {
  for (tf::Device dev : test_devices()) {
    // One plane with ties: window (0,0) over {1, 1; 0, 1} -> index 0 gets the gradient.
    Tensor x = tf::tensor({{1.0, 1.0, 0.0}, {0.0, 1.0, 2.0}}, tf::Options(tf::kFloat64)).reshape({1, 1, 2, 3}).to(dev);
    x.requires_grad_();
    auto [y, idx] = tf::max_pool2d_with_indices(x, 2, 1);
    CHECK(tftest::approx_vec(y.cpu(), {1, 2}));
    CHECK(idx.cpu().to_vector<int64_t>() == std::vector<int64_t>{0, 5});
    tf::sum(y * tf::tensor({3.0, 5.0}, tf::Options(tf::kFloat64)).reshape({1, 1, 1, 2}).to(dev)).backward();
    CHECK(tftest::approx_vec(x.grad().cpu(), {3, 0, 0, 0, 0, 5}));
    // Overlapping windows accumulate on a shared maximum.
    Tensor z = tf::tensor({0.0, 9.0, 0.0, 0.0}, tf::Options(tf::kFloat64)).reshape({1, 1, 4}).to(dev);
    z.requires_grad_();
    tf::sum(tf::max_pool1d(z, 2, 1)).backward();
    CHECK(tftest::approx_vec(z.grad().cpu(), {0, 2, 1, 0}));  // [0, 0]: a tie, first wins
    // Global max pooling: (N, C) and the argmax only.
    Tensor g = tf::tensor({{4.0, 1.0}, {4.0, 0.0}}, tf::Options(tf::kFloat64)).reshape({1, 1, 2, 2}).to(dev);
    g.requires_grad_();
    Tensor gm = tf::global_max_pool2d(g);
    REQUIRE(gm.shape() == Shape{1, 1});
    gm.sum().backward();
    CHECK(tftest::approx_vec(g.grad().cpu(), {1, 0, 0, 0}));
    // A dilated window whose taps (-1 and 3) both fall in the padding: -inf, index -1, no
    // gradient, also through the differentiable (create_graph) backward.
    Tensor d = tf::tensor({1.0, 2.0, 3.0}, tf::Options(tf::kFloat64)).reshape({1, 1, 1, 3}).to(dev);
    d.requires_grad_();
    auto [dy, di] = tf::max_pool2d_with_indices(d, {1, 2}, 1, {0, 1}, {1, 4});
    REQUIRE(dy.shape() == Shape{1, 1, 1, 1});
    CHECK(dy.cpu().item<double>() == -INFINITY);
    CHECK(di.cpu().item<int64_t>() == -1);
    auto gd = tf::grad({dy.sum()}, {d}, {}, false, true);
    CHECK(tftest::approx_vec(gd[0].cpu(), {0, 0, 0}));
    dy.sum().backward();
    CHECK(tftest::approx_vec(d.grad().cpu(), {0, 0, 0}));
  }
}

TEST_CASE("global average pooling and uniform adaptive pooling", "[pool]") {
  Tensor x = rnd({2, 3, 4, 6}, 1);
  Tensor ga = tf::global_avg_pool2d(x);
  REQUIRE(ga.shape() == Shape{2, 3});
  convtest::check_close(ga, tf::mean(x, {2, 3}).to_vector<double>(), 1e-14, "global_avg_pool2d");
  REQUIRE(tf::global_avg_pool2d(x, true).shape() == Shape{2, 3, 1, 1});
  REQUIRE(tf::global_max_pool2d(x, true).shape() == Shape{2, 3, 1, 1});
  convtest::check_close(tf::global_max_pool2d(x), tf::max(x, {2, 3}).to_vector<double>(), 0, "global_max_pool2d");
  convtest::check_close(tf::adaptive_avg_pool2d(x, {2, 3}), tf::avg_pool2d(x, {2, 2}).to_vector<double>(), 1e-14,
                        "adaptive = plain when it divides");
  convtest::check_close(tf::adaptive_max_pool2d(x, 1).reshape({2, 3}), tf::max(x, {2, 3}).to_vector<double>(), 0,
                        "adaptive max to 1");
  // Unbatched (C, H, W) input.
  REQUIRE(tf::max_pool2d(x[0], 2).shape() == Shape{3, 2, 3});
  REQUIRE(tf::avg_pool1d(x[0][0], 2).shape() == Shape{4, 3});
}

TEST_CASE("gradcheck: pooling and pad (first and second order)", "[pool][gradcheck]") {
  using V = const std::vector<Tensor>&;
  gradcheck([](V a) { return tf::max_pool2d(a[0], {3, 2}, {2, 1}, 1, {1, 2}); }, {rnd({2, 2, 5, 5}, 1)});
  gradcheck([](V a) { return tf::max_pool1d(a[0], 3, 2, 1, 1, true); }, {rnd({2, 2, 6}, 2)});
  gradcheck([](V a) { return tf::avg_pool2d(a[0], 3, 2, 1, true, false); }, {rnd({1, 2, 6, 5}, 3)});
  gradcheck([](V a) { return tf::avg_pool2d(a[0], {2, 3}, {3, 1}, {1, 0}); }, {rnd({2, 1, 5, 5}, 4)});
  gradcheck([](V a) { return tf::avg_pool1d(a[0], 4, 3, 2, true, true); }, {rnd({1, 2, 7}, 5)});
  gradcheck([](V a) { return tf::adaptive_avg_pool2d(a[0], {3, 2}); }, {rnd({1, 2, 5, 5}, 6)});
  gradcheck([](V a) { return tf::adaptive_max_pool2d(a[0], {2, 3}); }, {rnd({1, 2, 5, 4}, 7)});
  gradcheck([](V a) { return tf::adaptive_avg_pool1d(a[0], 3); }, {rnd({2, 2, 7}, 20)});
  gradcheck([](V a) { return tf::adaptive_max_pool1d(a[0], 4); }, {rnd({1, 3, 7}, 21)});
  gradcheck([](V a) { return tf::max_pool2d_with_indices(a[0], 2, 1).first; }, {rnd({1, 2, 3, 4}, 22)});
  gradcheck([](V a) { return tf::global_avg_pool2d(a[0]); }, {rnd({2, 2, 3, 3}, 8)});
  gradcheck([](V a) { return tf::global_max_pool2d(a[0]); }, {rnd({2, 2, 3, 3}, 9)});
  gradcheck([](V a) { return tf::pad(a[0], {1, 2, 2, 1}, "reflect"); }, {rnd({1, 2, 3, 4}, 10)});
  gradcheck([](V a) { return tf::pad(a[0], {2, 1, 1, 3}, "replicate"); }, {rnd({2, 3, 2}, 11)});
  gradcheck([](V a) { return tf::pad(a[0], {1, 2}, "circular"); }, {rnd({2, 3}, 12)});
  gradcheck([](V a) { return tf::pad(a[0], {-1, 2, 1, 0}, "constant", 3.0); }, {rnd({2, 3}, 13)});
  // Second order: max pooling's gradient is linear in the upstream gradient (zero second
  // derivative w.r.t. x), average pooling's backward is itself differentiated.
  gradcheck(convtest::grad_of([](V a) { return tf::max_pool2d(a[0], 2, 1) * a[0].slice(2, 0, 2).slice(3, 0, 2); }, 14),
            {rnd({1, 2, 3, 3}, 15)});
  gradcheck(convtest::grad_of([](V a) { return tf::square(tf::avg_pool2d(a[0], 2, 1, 1)); }, 16), {rnd({1, 1, 3, 4}, 17)});
}

TEST_CASE("pooling and pad errors name the op and the shapes and leave the input unchanged", "[pool][errors]") {
  using Catch::Contains;
  Tensor x = rnd({2, 3, 4, 5}, 1);
  Tensor x0 = x.clone();
  REQUIRE_THROWS_WITH(tf::max_pool2d(x, 6), Contains("max_pool2d: the dilated kernel (6, 6) is larger than the padded input (4, 5)") &&
                                                Contains("input shape (2, 3, 4, 5)"));
  REQUIRE_THROWS_WITH(tf::avg_pool2d(x, 2, 0), Contains("avg_pool2d: stride must be positive, got (0, 0)"));
  REQUIRE_THROWS_WITH(tf::max_pool1d(x[0], 2, -1), Contains("max_pool1d: stride must be positive, got -1"));
  REQUIRE_THROWS_WITH(tf::max_pool2d(x, 3, 1, 2), Contains("max_pool2d: padding (2, 2) must be at most half of kernel_size (3, 3)"));
  REQUIRE_THROWS_WITH(tf::avg_pool2d(x, 0), Contains("avg_pool2d: kernel_size must be positive"));
  REQUIRE_THROWS_WITH(tf::max_pool2d(x.reshape({-1}), 2), Contains("max_pool2d: expected a 3-D (channels, height, width) or 4-D") &&
                                                              Contains("got shape (120,)"));
  REQUIRE_THROWS_WITH(tf::avg_pool1d(x, 2), Contains("avg_pool1d: expected a 2-D (channels, length) or 3-D"));
  REQUIRE_THROWS_WITH(tf::max_pool2d(x.astype(tf::kInt32), 2), Contains("max_pool2d: expected a float32 or float64 input"));
  REQUIRE_THROWS_WITH(tf::adaptive_avg_pool2d(x, 0), Contains("adaptive_avg_pool2d: output_size must be positive"));
  REQUIRE_THROWS_WITH(tf::global_avg_pool2d(x[0]), Contains("global_avg_pool2d: expected a 4-D") && Contains("(3, 4, 5)"));
  REQUIRE_THROWS_WITH(tf::pad(x, {1, 2, 3}), Contains("pad: the padding list must have an even length, got 3"));
  REQUIRE_THROWS_WITH(tf::pad(x, {5, 0}, "reflect"),
                      Contains("pad: reflect padding (5, 0) must be smaller than the size 5 of dim 3 (input shape (2, 3, 4, 5))"));
  REQUIRE_THROWS_WITH(tf::pad(x, {1, 1}, "wrap"), Contains("pad: mode must be \"constant\""));
  REQUIRE_THROWS_WITH(tf::pad(x, {-1, 0}, "reflect"), Contains("pad: mode \"reflect\" needs non-negative padding"));
  REQUIRE_THROWS_WITH(tf::pad(x, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), Contains("pads 5 dims, but the input of shape (2, 3, 4, 5) has only 4"));
  REQUIRE_THROWS_WITH(tf::pad(x, {-3, -3}), Contains("pad: padding (-3, -3) of dim 3 leaves a negative size"));
  CHECK(tf::all(tf::eq(x, x0)).item<bool>());
}
