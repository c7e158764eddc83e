// The bad inputs issue 12 lists, at the layer level: a kernel larger than the (padded) input,
// zero or negative strides, channels not divisible by groups, an embedding index out of range,
// a mask of the wrong shape, a recurrent input of the wrong rank. Each message names the layer
// (or the op it called) and the shapes; the layer stays unbuilt, or keeps its weights.
// Also Conv1D/Conv2D's groups option (Keras's), checked against per-group convolutions.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "nn/nn.h"
#include "tensor/conv_ops.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/training.h"

using namespace tapeflow;
using nn::NamedTensors;
using Catch::Contains;

namespace {
bool unchanged(const NamedTensors& before, const nn::Module& m) {
  NamedTensors now = m.state_dict();
  if (now.size() != before.size()) return false;
  for (size_t i = 0; i < now.size(); ++i)
    if (now[i].first != before[i].first || !all(eq(now[i].second, before[i].second)).item<bool>()) return false;
  return true;
}
NamedTensors snapshot(const nn::Module& m) {
  NamedTensors s = m.state_dict();
  for (auto& [k, t] : s) t = t.clone();
  return s;
}
}  // namespace

TEST_CASE("layer errors: kernel larger than the input, strides", "[layers][errors]") {
  nn::Conv2D conv(4, 5);
  REQUIRE_THROWS_WITH(conv(zeros({1, 2, 3, 3})),
                      Contains("Conv2D: the kernel (5, 5) is larger than the input (1, 2, 3, 3) (padding 'valid')"));
  CHECK_FALSE(conv.built());
  CHECK(conv.count_params() == 0);
  conv(zeros({1, 2, 6, 5}));
  NamedTensors w = snapshot(conv);
  REQUIRE_THROWS_WITH(conv(zeros({1, 2, 6, 4})), Contains("Conv2D: the kernel (5, 5) is larger than the input (1, 2, 6, 4)"));
  CHECK(unchanged(w, conv));
  nn::Conv1D c1(2, 3, nn::Conv1DOptions().dilation_rate(2));
  REQUIRE_THROWS_WITH(c1(zeros({1, 2, 4})), Contains("Conv1D: the kernel 5 (dilated) is larger than the input (1, 2, 4)"));
  CHECK_FALSE(c1.built());
  // "same" pads the input: the same kernel fits.
  CHECK(nn::Conv2D(4, 5, nn::Conv2DOptions().padding("same"))(zeros({1, 2, 3, 3})).shape() == Shape({1, 4, 3, 3}));
  nn::MaxPooling2D pool(3);
  REQUIRE_THROWS_WITH(pool(zeros({1, 1, 2, 5})), Contains("MaxPooling2D: input shape (1, 1, 2, 5) is smaller than the pool (3, 3)"));
  // Zero or negative strides, in the constructor.
  REQUIRE_THROWS_WITH(nn::Conv2D(4, 3, nn::Conv2DOptions().strides(0)), Contains("Conv2D: strides must be positive, got (0, 0)"));
  REQUIRE_THROWS_WITH(nn::Conv2D(4, 3, nn::Conv2DOptions().strides({1, -2})),
                      Contains("Conv2D: strides must be positive, got (1, -2)"));
  REQUIRE_THROWS_WITH(nn::Conv1D(4, 3, nn::Conv1DOptions().strides(-1)), Contains("Conv1D: strides must be positive, got (-1, -1)"));
  REQUIRE_THROWS_WITH(nn::Conv2D(4, 3, nn::Conv2DOptions().dilation_rate(0)),
                      Contains("Conv2D: dilation_rate must be positive, got (0, 0)"));
  REQUIRE_THROWS_WITH(nn::MaxPooling2D(2, nn::PoolOptions().strides(0)), Contains("MaxPooling2D: strides must be positive, got (0, 0)"));
  REQUIRE_THROWS_WITH(nn::AveragePooling1D(2, nn::PoolOptions().strides(-1)),
                      Contains("AveragePooling1D: strides must be positive, got (-1, -1)"));
  // "same" with strides > 1 is refused before anything is built.
  nn::Conv2D strided(4, 3, nn::Conv2DOptions().padding("same").strides(2));
  REQUIRE_THROWS_WITH(strided(zeros({1, 2, 6, 6})), Contains("Conv2D: padding 'same' needs strides 1, got (2, 2)"));
  CHECK_FALSE(strided.built());
}

TEST_CASE("Conv2D / Conv1D groups: Keras's counts, per-group values, errors", "[layers][errors][conv]") {
  nn::Conv2D g(6, 3, nn::Conv2DOptions().groups(2));
  g.to(kFloat64);
  manual_seed(3);
  Tensor x = randn({2, 4, 5, 5}, kFloat64);
  Tensor y = g(x);
  CHECK(y.shape() == Shape({2, 6, 3, 3}));
  CHECK(g.kernel().shape() == Shape({6, 2, 3, 3}));
  CHECK(g.count_params() == 3 * 3 * 2 * 6 + 6);  // Keras: kh*kw*(in/groups)*filters + filters
  // Group 0: output channels 0-2 from input channels 0-1; group 1: 3-5 from 2-3.
  for (int64_t grp = 0; grp < 2; ++grp) {
    Tensor part = conv2d(x.narrow(1, 2 * grp, 2), g.kernel().narrow(0, 3 * grp, 3), g.bias().narrow(0, 3 * grp, 3));
    CHECK(tftest::approx_vec(y.narrow(1, 3 * grp, 3), part.to_vector<double>(), 1e-12));
  }
  nn::Conv1D g1(4, 2, nn::Conv1DOptions().groups(4));
  CHECK(g1(zeros({1, 4, 5})).shape() == Shape({1, 4, 4}));
  CHECK(g1.count_params() == 2 * 1 * 4 + 4);
  REQUIRE_THROWS_WITH(nn::Conv2D(8, 3, nn::Conv2DOptions().groups(3)), Contains("Conv2D: filters 8 must be divisible by groups 3"));
  REQUIRE_THROWS_WITH(nn::Conv2D(8, 3, nn::Conv2DOptions().groups(0)), Contains("Conv2D: groups must be positive, got 0"));
  nn::Conv2D bad(6, 3, nn::Conv2DOptions().groups(3));
  REQUIRE_THROWS_WITH(bad(zeros({1, 4, 5, 5})),
                      Contains("Conv2D(6): input shape (1, 4, 5, 5) has 4 channels, not divisible by groups 3"));
  CHECK_FALSE(bad.built());
  REQUIRE_THROWS_WITH(nn::DepthwiseConv2D(3, 1, nn::ConvOptions().groups(2)), Contains("DepthwiseConv2D: groups must be 1"));
}

TEST_CASE("layer errors: embedding index, attention mask, recurrent rank", "[layers][errors]") {
  nn::Embedding emb(10, 3);
  NamedTensors w = snapshot(emb);
  REQUIRE_THROWS_WITH(emb(from_vector(std::vector<int64_t>{1, 10}, Shape{2})),
                      Contains("embedding: index 10 is out of range for an embedding table of 10 rows (weight shape (10, 3))"));
  REQUIRE_THROWS_WITH(emb(from_vector(std::vector<int64_t>{-1}, Shape{1})), Contains("embedding: index -1 is out of range"));
  CHECK(unchanged(w, emb));

  Tensor q = zeros({2, 3, 4});
  nn::MultiHeadAttention mha(2, 2);
  REQUIRE_THROWS_WITH(mha.forward(q, q, Tensor(), ones({2, 3, 4}).astype(kBool)),
                      Contains("MultiHeadAttention: mask of shape (2, 3, 4) must be (3, 3) or (2, 3, 3) for query (2, 3, 4)"));
  CHECK(mha.count_params() == 0);
  nn::TransformerEncoderLayer enc(4, 2, 8);
  enc(q);
  NamedTensors we = snapshot(enc);
  REQUIRE_THROWS_WITH(enc(q, ones({3}).astype(kBool)), Contains("MultiHeadAttention: mask of shape (3,)"));
  CHECK(unchanged(we, enc));

  Tensor flat = zeros({2, 4}), deep = zeros({2, 3, 4, 1});
  nn::SimpleRNN rnn(3);
  nn::GRU gru(3);
  nn::LSTM lstm(3);
  nn::Bidirectional bi(std::make_shared<nn::GRU>(3));
  for (nn::Module* m : std::vector<nn::Module*>{&rnn, &gru, &lstm, &bi}) {
    INFO(m->type_name());
    REQUIRE_THROWS_WITH(m->call({flat}), Contains(m->type_name()) &&
                                             Contains("expected a 3-D input (batch, timesteps, features), got shape (2, 4)"));
    REQUIRE_THROWS_WITH(m->call({deep}), Contains(m->type_name()) && Contains("got shape (2, 3, 4, 1)"));
    CHECK_FALSE(m->built());
  }
  // In a model: a bad batch leaves every weight as it was.
  nn::Sequential model;
  model.add(nn::LSTM(4));
  model.add(nn::Dense(2));
  model.build(Shape{5, 3});
  NamedTensors wm = snapshot(model);
  REQUIRE_THROWS_WITH(model(zeros({2, 3})), Contains("LSTM") && Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(model(zeros({2, 5, 4})), Contains("LSTM(4)") && Contains("4 features"));
  CHECK(unchanged(wm, model));
}
