// Recurrent, normalisation, embedding and attention layers (nn/recurrent.h, nn/norm_layers.h,
// nn/attention.h): shapes, parameter counts (PyTorch / Keras formulas), values against PyTorch
// 2.x (torch.nn.LSTM / GRU / RNN with batch_first, F.layer_norm, an explicit float64 multi-head
// attention; computed offline from the sin-generated inputs below), gradcheck, clone, save/load.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "autograd/autograd.h"
#include "helpers.h"
#include "nn/nn.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/training.h"
#include "training/weights.h"

using namespace tapeflow;
using tftest::Values;

namespace {
// s * sin(a * i + b) over a row-major tensor of `shape` (the same generator as the reference script).
using tftest::seqt;
template <class L>
void set_rnn(L& layer, int g, int64_t h, int64_t f) {
  layer.load_state_dict({{"weight_ih", seqt({g * h, f}, 0.53, 0.2, 0.5)},
                         {"weight_hh", seqt({g * h, h}, 0.71, 0.3, 0.5)},
                         {"bias_ih", seqt({g * h}, 0.29, 0.4, 0.3)},
                         {"bias_hh", seqt({g * h}, 0.41, 0.5, 0.3)}});
}
}  // namespace

TEST_CASE("LSTM, GRU and SimpleRNN match torch.nn with the same weights", "[layers][rnn]") {
  Tensor x = seqt({2, 3, 4}, 0.37, 0.1), h0 = seqt({2, 3}, 0.61, 0.6, 0.5), c0 = seqt({2, 3}, 0.83, 0.7, 0.5);
  auto opts = nn::RNNOptions().return_sequences(true).return_state(true);
  nn::LSTM lstm(3, opts);
  lstm.to(kFloat64);
  lstm.build_inputs({Shape{3, 4}});
  REQUIRE(lstm.count_params() == 4 * (3 * (4 + 3) + 2 * 3));  // PyTorch's formula
  set_rnn(lstm, 4, 3, 4);
  auto out = lstm.forward(x, h0, c0);
  REQUIRE(out.size() == 3);
  CHECK(out[0].shape() == Shape({2, 3, 3}));
  CHECK_THAT(out[0], Values({0.6265805064, 0.004760250192, -0.03243390046, 0.6963257884, 0.1081167276, -0.03731703805, 0.189216591, 0.3342008481, -0.09033062762, -0.03951372917, -0.03152343371, 0.1447851215, 0.1978079922, -0.06235594577, 0.02458711169, 0.6068938725, -0.03697744335, -0.03745189016}, 1e-9));
  CHECK_THAT(out[1], Values({0.189216591, 0.3342008481, -0.09033062762, 0.6068938725, -0.03697744335, -0.03745189016}, 1e-9));
  CHECK_THAT(out[2], Values({0.6914245874, 0.6656451511, -0.2504013324, 1.064704086, -0.100243838, -0.2380075204}, 1e-9));

  nn::GRU gru(3, opts);
  gru.to(kFloat64);
  gru.build_inputs({Shape{3, 4}});
  REQUIRE(gru.count_params() == 3 * (3 * (4 + 3) + 2 * 3));
  set_rnn(gru, 3, 3, 4);
  auto g = gru.forward(x, h0);
  REQUIRE(g.size() == 2);
  CHECK_THAT(g[0], Values({0.3559250029, 0.06200542238, -0.1477797497, 0.4424489252, 0.1311169442, -0.6280929361, -0.1233739965, 0.2517333155, -0.3555547789, -0.3766069724, 0.1276465362, -0.06703909075, -0.1177331958, -0.09299023814, -0.03734618316, 0.03063113355, -0.04297344179, -0.5633289468}, 1e-9));
  CHECK_THAT(g[1], Values({-0.1233739965, 0.2517333155, -0.3555547789, 0.03063113355, -0.04297344179, -0.5633289468}, 1e-9));

  nn::SimpleRNN rnn(3, opts);
  rnn.to(kFloat64);
  rnn.build_inputs({Shape{3, 4}});
  REQUIRE(rnn.count_params() == 3 * (4 + 3) + 2 * 3);
  set_rnn(rnn, 1, 3, 4);
  auto r = rnn.forward(x, h0);
  CHECK_THAT(r[0], Values({0.9368991139, 0.05129165259, -0.4757559235, 0.8197987757, 0.8177740294, -0.8067536489, -0.4356547283, 0.8661400655, 0.318056805, -0.7187021507, 0.3945660602, 0.9370505471, 0.8806494494, -0.4666888754, 0.3847894603, 0.9225811546, 0.6136364948, -0.8033491123}, 1e-9));

  // Without return_sequences / return_state: the last output only, through the plain call.
  nn::LSTM last(3);
  last.to(kFloat64);
  Tensor y = last(x).tensor();
  CHECK(y.shape() == Shape({2, 3}));
}

TEST_CASE("recurrent layers: bad input names the layer and leaves it unbuilt", "[layers][rnn]") {
  nn::LSTM lstm(5);
  CHECK_THROWS_WITH(lstm(zeros({2, 4})), Catch::Contains("LSTM") && Catch::Contains("(2, 4)"));
  CHECK_FALSE(lstm.built());
  lstm(zeros({2, 3, 4}));
  CHECK_THROWS_WITH(lstm(zeros({2, 3, 6})), Catch::Contains("LSTM(5)") && Catch::Contains("6 features"));
  CHECK_THROWS_WITH(lstm.forward(zeros({2, 3, 4}), zeros({3, 5})), Catch::Contains("initial hidden state"));
  CHECK_THROWS_WITH(nn::GRU(4).forward(zeros({2, 3, 4}), Tensor(), zeros({2, 4})), Catch::Contains("cell state"));
}

TEST_CASE("LSTM and GRU gradcheck through the whole sequence", "[layers][rnn][gradcheck]") {
  for (int kind = 0; kind < 2; ++kind) {
    std::shared_ptr<nn::Module> m;
    if (kind == 0) m = std::make_shared<nn::LSTM>(2, nn::RNNOptions().return_sequences(true));
    else m = std::make_shared<nn::GRU>(2, nn::RNNOptions().return_sequences(true));
    m->to(kFloat64);
    m->build(Shape{3, 2});
    auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return m->call({in[0], in[1]})[0]; },
                                 {seqt({2, 3, 2}, 0.7), seqt({2, 2}, 0.3, 0.5)});
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("LayerNormalization and Embedding", "[layers][norm]") {
  nn::LayerNormalization ln;
  ln.to(kFloat64);
  ln.build(Shape{3, 4});
  CHECK(ln.count_params() == 8);
  ln.load_state_dict({{"gamma", seqt({4}, 0.3, 0.1, 0.5) + 1.0}, {"beta", seqt({4}, 0.7, 0.2, 0.2)}});
  CHECK_THAT(ln(seqt({2, 3, 4}, 0.37, 0.1)), Values({-1.477714713, -0.240192747, 0.9769008303, 1.839527188, 1.112948645, 0.9935089275, -0.05264896214, -2.026882195, 1.520753437, 0.6068724133, -0.524846351, -1.611512649, -0.8308188431, -0.7999066533, 0.2564805451, 2.403922999, -1.408363184, -0.3373372377, 0.8798367474, 1.965509545, 0.4324200738, 1.294075192, 0.5513195643, -2.112452156}, 1e-8));
  CHECK_THROWS_WITH(ln(zeros({2, 5})), Catch::Contains("LayerNormalization") && Catch::Contains("(2, 5)"));
  auto g = autograd::gradcheck([&](const std::vector<Tensor>& in) { return ln(in[0]); }, {seqt({2, 4}, 0.9)});
  CHECK(g.ok);

  nn::Embedding emb(10, 3);
  CHECK(emb.count_params() == 30);
  Tensor ids = from_vector(std::vector<int64_t>{1, 9, 1, 0}, Shape{2, 2});
  Tensor e = emb(ids);
  CHECK(e.shape() == Shape({2, 2, 3}));
  CHECK(tftest::approx_vec(e.select(0, 0).select(0, 0), emb.embeddings().select(0, 1).to_vector<double>()));
  CHECK_THROWS(emb(from_vector(std::vector<int64_t>{10}, Shape{1})));
}

TEST_CASE("MultiHeadAttention matches a float64 reference, causal or not", "[layers][attention]") {
  for (bool causal : {false, true}) {
    nn::MultiHeadAttention mha(2, 2, nn::AttentionOptions().use_causal_mask(causal));
    mha.to(kFloat64);
    Tensor x = seqt({2, 3, 4}, 0.37, 0.1);
    mha(x, x);
    CHECK(mha.count_params() == 3 * (4 * 4 + 4) + (4 * 4 + 4));  // Keras: 3 projections + output
    mha.load_state_dict({{"query.kernel", seqt({4, 4}, 0.31, 0.1, 0.5)}, {"query.bias", seqt({4}, 0.13, 0.1, 0.1)},
                         {"key.kernel", seqt({4, 4}, 0.43, 0.2, 0.5)}, {"key.bias", seqt({4}, 0.17, 0.2, 0.1)},
                         {"value.kernel", seqt({4, 4}, 0.57, 0.3, 0.5)}, {"value.bias", seqt({4}, 0.23, 0.3, 0.1)},
                         {"output.kernel", seqt({4, 4}, 0.67, 0.4, 0.5)}, {"output.bias", seqt({4}, 0.11, 0.5, 0.1)}});
    if (!causal) CHECK_THAT(mha(x, x), Values({0.1002452964, 0.09883089358, 0.07876213055, 0.05235191989, 0.09476416393, 0.09556753491, 0.07912748059, 0.05618801711, 0.09812431459, 0.09495903462, 0.0748134185, 0.05003360673, 0.08002007358, 0.07763891891, 0.06576589561, 0.05317043351, 0.08112702015, 0.07733279551, 0.06417905673, 0.05098895953, 0.08596601502, 0.08331118924, 0.06871205093, 0.05211668392}, 1e-9));
    else CHECK_THAT(mha(x, x), Values({0.123817816, 0.1129906591, 0.07738707295, 0.03603655451, 0.1344774854, 0.1248425412, 0.08530692751, 0.0366001796, 0.09812431459, 0.09495903462, 0.0748134185, 0.05003360673, -0.002550630509, 0.009216298327, 0.0410743348, 0.08288549344, 0.04903341777, 0.05133374405, 0.05551541947, 0.0634065178, 0.08596601502, 0.08331118924, 0.06871205093, 0.05211668392}, 1e-9));
    // A clone computes the same.
    auto copy = nn::clone(mha);
    CHECK(tftest::approx_vec(copy->forward(x, x), mha(x, x).to_vector<double>(), 1e-12));
    auto g = autograd::gradcheck([&](const std::vector<Tensor>& in) { return mha(in[0], in[0]); }, {x});
    CHECK(g.ok);
  }
  nn::MultiHeadAttention mha(2, 2);
  CHECK_THROWS_WITH(mha(zeros({2, 4})), Catch::Contains("MultiHeadAttention") && Catch::Contains("(2, 4)"));
}

TEST_CASE("TransformerEncoderLayer: shapes, parameters, gradcheck, save/load", "[layers][attention]") {
  nn::TransformerEncoderLayer enc(8, 2, 16, nn::AttentionOptions().use_causal_mask(true));
  // attention 4 * (8*8 + 8), feed-forward 8*16 + 16 + 16*8 + 8, two norms 2 * 16.
  CHECK(enc.count_params() == 4 * 72 + 144 + 136 + 32);
  Tensor x = randn({2, 5, 8});
  enc.eval();
  Tensor y = enc(x);
  CHECK(y.shape() == Shape({2, 5, 8}));
  // Causal: the first position does not depend on the later ones.
  Tensor x2 = x.clone();
  x2.narrow(1, 3, 2).fill_(7.0);
  CHECK(tftest::approx_vec(enc(x2).narrow(1, 0, 3), y.narrow(1, 0, 3).to_vector<double>(), 1e-5));
  std::string path = "test_layers_seq_enc.safetensors";
  training::save_weights(enc, path);
  nn::TransformerEncoderLayer other(8, 2, 16, nn::AttentionOptions().use_causal_mask(true));
  other.eval();
  training::load_weights(other, path);
  std::remove(path.c_str());
  CHECK(tftest::approx_vec(other(x), y.to_vector<double>(), 1e-6));
  auto c = nn::clone(enc);
  CHECK(tftest::approx_vec(c->forward(x), y.to_vector<double>(), 1e-6));
  CHECK_THROWS_WITH(enc(zeros({2, 5, 6})), Catch::Contains("TransformerEncoderLayer") && Catch::Contains("(2, 5, 6)"));
  nn::TransformerEncoderLayer small(4, 2, 4);
  small.to(kFloat64);
  small.eval();
  auto g = autograd::gradcheck([&](const std::vector<Tensor>& in) { return small(in[0]); }, {seqt({1, 3, 4}, 0.8)});
  INFO(g.message);
  CHECK(g.ok);
}

TEST_CASE("Bidirectional(LSTM) matches torch.nn.LSTM(bidirectional=True)", "[layers][rnn]") {
  nn::Bidirectional bi(std::make_shared<nn::LSTM>(3, nn::RNNOptions().return_sequences(true)));
  bi.to(kFloat64);
  bi.build(Shape{3, 4});
  CHECK(bi.count_params() == 2 * 4 * (3 * (4 + 3) + 2 * 3));
  nn::NamedTensors st;
  for (auto [prefix, o] : {std::pair<std::string, double>{"forward_layer.", 0.0}, {"backward_layer.", 0.05}}) {
    st.push_back({prefix + "weight_ih", seqt({12, 4}, 0.53 + o, 0.2, 0.5)});
    st.push_back({prefix + "weight_hh", seqt({12, 3}, 0.71 + o, 0.3, 0.5)});
    st.push_back({prefix + "bias_ih", seqt({12}, 0.29 + o, 0.4, 0.3)});
    st.push_back({prefix + "bias_hh", seqt({12}, 0.41 + o, 0.5, 0.3)});
  }
  bi.load_state_dict(st);
  Tensor y = bi(seqt({2, 3, 4}, 0.37, 0.1))[0];
  CHECK(y.shape() == Shape({2, 3, 6}));
  CHECK_THAT(y, Values({0.3998612322, -0.04876225115, -0.07132209018, 0.2644882353, -0.1282740661, 0.1299024515, 0.6191486392, 0.04212738169, -0.04912093578, 0.2838050872, -0.05661710391, -0.0705032196, 0.1322917258, 0.2837295141, -0.09328148408, 0.003041626075, 0.1693693332, -0.1083180793, -0.03881328581, 0.03762049609, 0.4131406692, 0.001633112176, 0.1042371871, -0.05471552305, 0.2472457172, -0.04708226462, 0.1180917915, 0.1878648257, -0.1552858077, 0.2091365279, 0.6370438349, -0.03319120954, -0.02528584393, 0.2595485044, -0.07503385101, 0.184696585}, 1e-9));
  auto c = nn::clone(bi);
  CHECK(tftest::approx_vec(c->forward(seqt({2, 3, 4}, 0.37, 0.1))[0], y.to_vector<double>(), 1e-12));
  CHECK_THROWS_WITH(bi(zeros({2, 4})), Catch::Contains("Bidirectional") && Catch::Contains("(2, 4)"));
}
