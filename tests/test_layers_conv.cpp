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

using tftest::seqt;

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

  // summary(): the moving statistics count as non-trainable parameters, as in Keras (4 * C).
  nn::Sequential model;
  model.add(nn::Dense(8, "linear", true, "glorot_uniform", "zeros", 3));
  model.add(nn::BatchNormalization());
  model.build(Shape{3});
  std::string s = model.summary_string();
  CHECK_THAT(s, Catch::Contains("batch_normalization (BatchNo (None, 8)                 32"));
  CHECK_THAT(s, Catch::Contains("Total params: 64") && Catch::Contains("Trainable params: 48") &&
                    Catch::Contains("Non-trainable params: 16"));
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

TEST_CASE("Conv2DTranspose and DepthwiseConv2D match PyTorch", "[layers][conv]") {
  Tensor x = seqt({1, 2, 3, 3}, 0.23, 0.1);
  Tensor b = seqt({3}, 0.7, 0.3, 0.1);
  nn::Conv2DTranspose up(3, 2, nn::Conv2DOptions().strides(2));
  up.to(kFloat64);
  up.build(Shape{2, 3, 3});
  CHECK(up.count_params() == 2 * 3 * 2 * 2 + 3);
  up.load_state_dict({{"kernel", seqt({2, 3, 2, 2}, 0.41, 0.2, 0.5)}, {"bias", b}});
  Tensor y = up(x);
  CHECK(y.shape() == Shape({1, 3, 6, 6}));
  CHECK_THAT(y, Values({-0.3395954706, -0.2242567308, -0.2483206749, -0.1086280346, -0.1424110997, 0.01427821957, -0.06684707013, 0.1065415452, 0.05396910423, 0.2125189075, 0.1734992989, 0.3088599143, -0.02744470661, 0.1379889023, 0.09052354503, 0.2559885169, 0.2052805966, 0.3620623531, 0.2854481921, 0.3904905536, 0.3839197478, 0.4531115675, 0.4637277441, 0.4934248817, 0.3107825144, 0.4506237978, 0.4014728067, 0.5170085668, 0.4725750688, 0.5577203595, 0.5206689164, 0.5093073065, 0.551744332, 0.499922359, 0.5553173354, 0.4657643181, 0.3217635815, 0.4430036228, 0.3953354985, 0.4719749347, 0.4525179907, 0.4805204364, 0.5047601972, 0.4967966364, 0.4843286669, 0.4303489609, 0.4428206899, 0.3456677991, 0.4902994158, 0.4681900603, 0.5066899314, 0.435633213, 0.500826295, 0.3845645726, 0.3824223755, 0.2472130717, 0.3063147346, 0.1401701144, 0.218506144, 0.03017658119, 0.4730173278, 0.317673782, 0.4247276506, 0.2384837925, 0.3585005459, 0.15116532, 0.1236212374, -0.07697447545, 0.02665733806, -0.1756397083, -0.06727873602, -0.2606226949, 0.4354523499, 0.3033464887, 0.3340027864, 0.1837111499, 0.2201850499, 0.05962307934, 0.1373960853, -0.03489119431, 0.01940552821, -0.1316790492, -0.09438424205, -0.2163089141, 0.09999360301, -0.0623823506, -0.0202414061, -0.1758794543, -0.1341875349, -0.274890656, -0.1979802357, -0.2843235701, -0.2859263409, -0.332140875, -0.3535906815, -0.3572424249, -0.2358435588, -0.3542013118, -0.3198555386, -0.409634351, -0.3817987976, -0.4382702698, -0.3974095656, -0.358306191, -0.4150751748, -0.3352761479, -0.4056571106, -0.2893652236}, 1e-9));
  // "same": output = input * stride (PyTorch padding 1, output_padding 1 for kernel 3, stride 2).
  nn::Conv2DTranspose same(3, 3, nn::Conv2DOptions().strides(2).padding("same"));
  same.to(kFloat64);
  same.build(Shape{2, 3, 3});
  same.load_state_dict({{"kernel", seqt({2, 3, 3, 3}, 0.41, 0.2, 0.5)}, {"bias", b}});
  CHECK_THAT(same(x), Values({0.2167770481, 0.4889482565, 0.2995219762, 0.6334533614, 0.36804834, 0.4037056212, 0.5418320731, 1.075112136, 0.6029667077, 1.163811363, 0.6339011906, 0.6106045927, 0.4187470471, 0.8211106169, 0.448947938, 0.8543793835, 0.457060416, 0.3380239013, 0.6330062889, 1.160469699, 0.6003291345, 1.068604804, 0.537590742, 0.3631037201, 0.4426572196, 0.7911286108, 0.406496925, 0.6979403132, 0.3504839939, 0.1312138375, -0.1334028352, -0.3618923416, -0.2329856091, -0.542221001, -0.3187412585, -0.4748423817, -0.2713699633, -0.6360337616, -0.289544186, -0.6532896203, -0.2880371313, -0.2412177174, -0.5240085019, -1.074654337, -0.510984936, -1.01937991, -0.4666174263, -0.3182453871, -0.2669281716, -0.5724218438, -0.2273290569, -0.4785572889, -0.1713253621, 0.0100318116, -0.3932426858, -0.7404441427, -0.2947251572, -0.5314735703, -0.176253484, 0.06387033025, -0.1018666457, -0.208424402, -0.02261110426, -0.04638321556, 0.06226709382, 0.2951896751, 0.4818379966, 0.9118177697, 0.565226726, 1.04749531, 0.6232783337, 0.6640609748, 0.5187066183, 0.8689114175, 0.4669798503, 0.7538570902, 0.3958813785, 0.2803168513, 0.6248327682, 1.03134645, 0.54147066, 0.8483097071, 0.4348136248, 0.2048819125, 0.3091557608, 0.4281818464, 0.2113705936, 0.2347133363, 0.1076759489, -0.08281196488, 0.310478991, 0.3755884048, 0.1750151168, 0.1108007574, 0.03555650665, -0.1997786188, 0.003533134234, -0.1630748767, -0.09557293887, -0.3464441842, -0.18442263, -0.3626841916, -0.4166224119, -0.9219844581, -0.4593601664, -0.9732182585, -0.4726818808, -0.3861849725}, 1e-9));

  nn::DepthwiseConv2D dw(3, 2);
  dw.to(kFloat64);
  dw.build(Shape{2, 4, 4});
  CHECK(dw.count_params() == 2 * 2 * 3 * 3 + 4);
  dw.load_state_dict({{"kernel", seqt({4, 1, 3, 3}, 0.37, 0.4, 0.5)}, {"bias", seqt({4}, 0.5, 0.1, 0.1)}});
  Tensor d = dw(seqt({1, 2, 4, 4}, 0.29, 0.2));
  CHECK(d.shape() == Shape({1, 4, 2, 2}));
  CHECK_THAT(d, Values({2.022785449, 2.105044905, 1.346976117, 0.8298811459, -1.838071177, -2.04849162, -1.62836907, -1.176962309, -1.43840642, -0.916260005, 0.9486944575, 1.49630378, 1.954068754, 1.495532645, -0.3815329697, -0.9996996703}, 1e-9));
  CHECK_THROWS_WITH(dw(zeros({1, 3, 4, 4})), Catch::Contains("DepthwiseConv2D") && Catch::Contains("3 channels"));
  auto g = autograd::gradcheck([&](const std::vector<Tensor>& in) { return up(in[0]) + 0.0; }, {x});
  INFO(g.message);
  CHECK(g.ok);
  g = autograd::gradcheck([&](const std::vector<Tensor>& in) { return dw(in[0]); }, {seqt({1, 2, 4, 4}, 0.5)});
  INFO(g.message);
  CHECK(g.ok);
  auto c = nn::clone(up);
  CHECK(tftest::approx_vec(c->forward(x), y.to_vector<double>(), 1e-12));
}
