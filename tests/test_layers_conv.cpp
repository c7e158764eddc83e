// Convolution, pooling, batch-norm and shape layers (nn/conv_layers.h, nn/norm_layers.h,
// nn/shape_layers.h): shapes, parameter counts (Keras's formulas), values against PyTorch 2.x
// (F.conv2d / F.max_pool2d on the sin-generated inputs below, computed offline), channels_last,
// gradcheck, clone, save/load, summary rows, and bad input naming the layer.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "autograd/autograd.h"
#include "helpers.h"
#include "nn/nn.h"
#include "nn/shape_layers.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/training.h"
#include "training/weights.h"

using namespace tapeflow;
using tftest::Values;

namespace {
Tensor seqt(const Shape& shape, double a, double b = 0.0, double s = 1.0) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = s * std::sin(a * double(i) + b);
  return from_vector(v, shape);
}
}  // namespace

TEST_CASE("Conv2D matches F.conv2d (same padding, relu; valid + max pool)", "[layers][conv]") {
  Tensor x = seqt({2, 2, 5, 5}, 0.19, 0.3);
  nn::NamedTensors w{{"kernel", seqt({3, 2, 3, 3}, 0.47, 0.1, 0.5)}, {"bias", seqt({3}, 0.9, 0.2, 0.1)}};
  nn::Conv2D same(3, 3, nn::Conv2DOptions().padding("same").activation("relu"));
  same.to(kFloat64);
  same.build(Shape{2, 5, 5});
  CHECK(same.count_params() == 3 * 2 * 3 * 3 + 3);  // Keras: kh*kw*in*out + out
  same.load_state_dict(w);
  Tensor y = same(x);
  CHECK(y.shape() == Shape({2, 3, 5, 5}));
  CHECK_THAT(y, Values({0, 0.2627262739, 0.7351716097, 1.181872036, 1.303531142, 2.226905515, 3.815330177, 3.975296645, 3.992901147, 2.474038099, 2.618547576, 3.210777444, 2.703072707, 2.09879529, 0.6095345688, 0.836045521, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3362622434, 1.05230481, 1.733680909, 1.9324216, 1.698200065, 3.336030424, 3.658730624, 3.852955104, 2.647144339, 1.997719302, 2.471335136, 2.155042116, 1.764393424, 0.6616198001, 2.094891097, 2.759070055, 2.479063508, 2.113104374, 0.9582857334, 0.668776158, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.1819438229, 0.6594111705, 1.116418002, 1.32388762, 0.3636322967, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.4021790715, 1.14410185, 1.845561695, 1.93254188, 1.709848099, 2.883465533, 2.95927183, 2.929284448, 1.844651255, 1.523678011, 2.722716301, 2.853357015, 2.884508636, 1.931305956, 2.461784607, 2.858270218, 2.310664257, 1.683101546, 0.3090121727, 0.6180230197, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.811881465, 1.539724154, 2.215422516, 2.210249249, 2.015486399, 3.700993941, 3.956195514, 4.072280258, 2.734208881, 2.710550677, 3.569804613, 3.138854802, 2.598205505, 1.046711788, 0.5314135348, 0, 0, 0, 0}, 1e-9));

  nn::Conv2D valid(3, 3);
  valid.to(kFloat64);
  valid.build(Shape{2, 5, 5});
  valid.load_state_dict(w);
  nn::MaxPooling2D pool(2);
  Tensor p = pool(valid(x));
  CHECK(p.shape() == Shape({2, 3, 1, 1}));
  CHECK_THAT(p, Values({3.975296645, 1.05230481, -0.333195907, -2.434510039, 2.858270218, 3.956195514}, 1e-9));

  // channels_last: the same numbers with the channel axis last.
  nn::Conv2D last(3, 3, nn::Conv2DOptions().padding("same").activation("relu").data_format("channels_last"));
  last.to(kFloat64);
  last.build(Shape{5, 5, 2});
  last.load_state_dict(w);
  Tensor yl = last(x.permute({0, 2, 3, 1}));
  CHECK(yl.shape() == Shape({2, 5, 5, 3}));
  CHECK(tftest::approx_vec(yl.permute({0, 3, 1, 2}), y.to_vector<double>(), 1e-12));

  auto g = autograd::gradcheck([&](const std::vector<Tensor>& in) { return pool(valid(in[0])); },
                               {seqt({1, 2, 4, 4}, 0.31)});
  CHECK(g.ok);
}

TEST_CASE("conv and pooling layers: shapes, counts and errors", "[layers][conv]") {
  nn::Conv1D c1(4, 3, nn::Conv1DOptions().strides(2));
  CHECK(c1(zeros({2, 3, 9})).shape() == Shape({2, 4, 4}));
  CHECK(c1.count_params() == 4 * 3 * 3 + 4);
  CHECK(nn::MaxPooling1D(2)(zeros({2, 3, 9})).shape() == Shape({2, 3, 4}));
  CHECK(nn::AveragePooling2D(2)(ones({1, 1, 4, 4})).shape() == Shape({1, 1, 2, 2}));
  CHECK_THAT(nn::AveragePooling2D(2)(arange(16.0).reshape({1, 1, 4, 4}).astype(kFloat32)),
             Values({2.5, 4.5, 10.5, 12.5}));
  CHECK_THAT(nn::GlobalAveragePooling2D()(arange(8.0).reshape({1, 2, 2, 2}).astype(kFloat32)), Values({1.5, 5.5}));
  CHECK_THAT(nn::GlobalMaxPooling2D()(arange(8.0).reshape({1, 2, 2, 2}).astype(kFloat32)), Values({3, 7}));

  nn::Conv2D conv(8, 3);
  CHECK_THROWS_WITH(conv(zeros({3, 5, 5})), Catch::Contains("Conv2D") && Catch::Contains("(3, 5, 5)"));
  CHECK_FALSE(conv.built());
  conv(zeros({1, 3, 5, 5}));
  CHECK_THROWS_WITH(conv(zeros({1, 4, 5, 5})),
                    Catch::Contains("Conv2D(8)") && Catch::Contains("(1, 4, 5, 5)") && Catch::Contains("4 channels"));
  CHECK(conv.kernel().shape() == Shape({8, 3, 3, 3}));
  CHECK_THROWS_WITH(nn::Conv2D(8, 3, nn::Conv2DOptions().padding("full")), Catch::Contains("padding"));
  CHECK_THROWS_WITH(nn::MaxPooling2D(2)(zeros({1, 1, 1, 1})), Catch::Contains("MaxPooling2D"));

  CHECK(nn::ZeroPadding2D(1, 2)(ones({1, 1, 2, 2})).shape() == Shape({1, 1, 4, 6}));
  CHECK(nn::Reshape({-1, 2})(zeros({3, 2, 4})).shape() == Shape({3, 4, 2}));
  CHECK_THROWS_WITH(nn::Reshape({3, 3})(zeros({3, 2, 4})), Catch::Contains("Reshape") && Catch::Contains("(3, 2, 4)"));
  CHECK(nn::Permute({2, 1})(zeros({3, 2, 4})).shape() == Shape({3, 4, 2}));
  CHECK(nn::RepeatVector(3)(zeros({2, 5})).shape() == Shape({2, 3, 5}));
}

TEST_CASE("BatchNormalization: Keras momentum, buffers saved, eval uses running stats", "[layers][norm]") {
  nn::BatchNormalization bn(nn::NormOptions().momentum(0.9));
  bn.to(kFloat64);
  Tensor x = seqt({4, 2}, 0.9, 0.3, 2.0);
  Tensor y = bn(x);
  std::vector<double> xv = x.to_vector<double>();
  for (int c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    for (int i = 0; i < 4; ++i) m += xv[i * 2 + c] / 4;
    for (int i = 0; i < 4; ++i) v += (xv[i * 2 + c] - m) * (xv[i * 2 + c] - m);
    // running = 0.9 * running + 0.1 * batch (unbiased variance, as PyTorch)
    CHECK(bn.moving_mean().to_vector<double>()[c] == Approx(0.1 * m));
    CHECK(bn.moving_variance().to_vector<double>()[c] == Approx(0.9 + 0.1 * v / 3));
    CHECK(y.to_vector<double>()[c] == Approx((xv[c] - m) / std::sqrt(v / 4 + 1e-3)));
  }
  auto names = bn.state_dict();
  REQUIRE(names.size() == 4);
  CHECK(names[2].first == "moving_mean");
  CHECK(names[3].first == "moving_variance");
  std::string path = "test_layers_conv_bn.safetensors";
  training::save_weights(bn, path);
  nn::BatchNormalization other;
  other.to(kFloat64);
  other.build(Shape{2});
  training::load_weights(other, path);
  std::remove(path.c_str());
  CHECK(tftest::approx_vec(other.moving_variance(), bn.moving_variance().to_vector<double>()));
  bn.eval();
  other.eval();
  CHECK(tftest::approx_vec(other(x), bn(x).to_vector<double>(), 1e-12));
  CHECK_THROWS_WITH(bn(zeros({4, 3})), Catch::Contains("BatchNormalization") && Catch::Contains("(4, 3)"));
}

TEST_CASE("a convnet in Sequential: summary rows, clone and save/load", "[layers][conv]") {
  nn::Sequential model;
  model.add(nn::Conv2D(8, 3, nn::Conv2DOptions().activation("relu")));
  model.add(nn::MaxPooling2D(2));
  model.add(nn::Flatten());
  model.add(nn::Dense(10, "softmax"));
  model.build(Shape{1, 28, 28});
  std::string s = model.summary_string();
  CHECK_THAT(s, Catch::Contains("conv2d (Conv2D)              (None, 8, 26, 26)         80"));
  CHECK_THAT(s, Catch::Contains("max_pooling2d (MaxPooling2D) (None, 8, 13, 13)         0"));
  CHECK_THAT(s, Catch::Contains("(None, 10)                13530"));
  CHECK_THAT(s, Catch::Contains("Total params: 13,610"));
  Tensor x = randn({2, 1, 28, 28});
  model.eval();
  Tensor y = model.predict(x);
  auto copy = nn::clone(model);
  CHECK(tftest::approx_vec(copy->predict(x), y.to_vector<double>(), 1e-6));
  std::string path = "test_layers_conv_seq.safetensors";
  model.save_weights(path);
  nn::Sequential other;
  other.add(nn::Conv2D(8, 3, nn::Conv2DOptions().activation("relu")));
  other.add(nn::MaxPooling2D(2));
  other.add(nn::Flatten());
  other.add(nn::Dense(10, "softmax"));
  other.build(Shape{1, 28, 28});
  other.load_weights(path);
  std::remove(path.c_str());
  other.eval();
  CHECK(tftest::approx_vec(other.predict(x), y.to_vector<double>(), 1e-6));
}
