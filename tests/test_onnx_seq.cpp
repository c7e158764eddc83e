// Tests for the ONNX export and import of sequence models (onnx/export_seq.cpp,
// onnx/import_seq.cpp): PyTorch-made fixtures (tests/data/onnx/make_seq_fixtures.py: an
// Embedding + LSTM + Linear model, a bidirectional GRU and a TransformerEncoderLayer) against PyTorch's outputs,
// fine-tuning and the gradient checker on them, export -> import round trips of every sequence
// case of tests/onnx/seq_models.h (ONNX Runtime checks the same exports: tests/onnx/check.sh),
// a GRU with linear_before_reset = 0 against float64 loops, and bad input by its message.
#include <catch2/catch.hpp>

#if TAPEFLOW_TEST_ONNX
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "onnx/onnx.h"
#include "onnx/proto.h"
#include "onnx/seq_models.h"
#include "onnx_test_util.h"

using namespace tapeflow;
namespace tfo = tapeflow::onnx;
using Catch::Matchers::Contains;

using tapeflow::test::matches;
using tapeflow::test::read_bytes;
using tapeflow::test::read_txt;

namespace {

const std::string kDir = std::string(TAPEFLOW_SOURCE_DIR) + "/tests/data/onnx/";

using TP = ::onnx::TensorProto;

// A hand-made model: one float input of `in_dims` -> nodes -> "output".
struct Model {
  ::onnx::ModelProto m;
  ::onnx::GraphProto& g = *m.mutable_graph();
  explicit Model(const std::vector<int64_t>& in_dims) {
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    g.set_name("g");
    auto* i = g.add_input();
    i->set_name("input");
    auto* t = i->mutable_type()->mutable_tensor_type();
    t->set_elem_type(TP::FLOAT);
    for (int64_t d : in_dims) t->mutable_shape()->add_dim()->set_dim_value(d);
    auto* o = g.add_output();
    o->set_name("output");
    o->mutable_type()->mutable_tensor_type()->set_elem_type(TP::FLOAT);
    o->mutable_type()->mutable_tensor_type()->mutable_shape();
  }
  ::onnx::NodeProto& node(const std::string& op, const std::string& name, std::vector<std::string> in,
                          std::vector<std::string> out) {
    auto* n = g.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return *n;
  }
  void init(const std::string& name, const Tensor& t) {
    TP* p = g.add_initializer();
    tfo::detail::to_proto(t, *p);
    p->set_name(name);
  }
  std::string bytes() const {
    std::string s;
    m.SerializeToString(&s);
    return s;
  }
};

void attr_int(::onnx::NodeProto& n, const char* name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr_string(::onnx::NodeProto& n, const char* name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

}  // namespace

TEST_CASE("onnx seq: PyTorch's Embedding + LSTM + Linear and TransformerEncoderLayer match PyTorch", "[onnx][seq]") {
  NoGradGuard ng;
  SECTION("emb_lstm: Gather, ConstantOfShape, LSTM, ...") {
    auto m = tfo::load(kDir + "emb_lstm.onnx");
    Tensor ids = read_txt(kDir + "emb_lstm.input.txt").astype(kInt64), want = read_txt(kDir + "emb_lstm.output.txt");
    REQUIRE(ids.shape() == Shape{5, 7});  // exported at (2, 4): batch and length are dynamic
    Tensor y = (*m)(ids);
    CHECK(y.shape() == Shape{5, 7, 3});
    CHECK(matches(y, want));
    CHECK(m->count_params() == 10 * 6 + 4 * 5 * (6 + 5) + 8 * 5 + 5 * 3 + 3);  // PyTorch's count
  }
  SECTION("bigru: one bidirectional GRU node (linear_before_reset = 1)") {
    auto m = tfo::load(kDir + "bigru.onnx");
    Tensor x = read_txt(kDir + "bigru.input.txt"), want = read_txt(kDir + "bigru.output.txt");
    REQUIRE(x.shape() == Shape{5, 6, 4});
    Tensor y = (*m)(x);
    CHECK(y.shape() == Shape{5, 6, 2});
    CHECK(matches(y, want));
  }
  SECTION("encoder: Slice, LayerNormalization, attention as MatMul / Softmax") {
    auto m = tfo::load(kDir + "encoder.onnx");
    Tensor x = read_txt(kDir + "encoder.input.txt"), want = read_txt(kDir + "encoder.output.txt");
    REQUIRE(x.shape() == Shape{5, 6, 8});
    Tensor y = (*m)(x);
    CHECK(y.shape() == want.shape());
    CHECK(matches(y, want));
  }
}

TEST_CASE("onnx seq: the imported LSTM model fine-tunes, the encoder passes the gradient checker", "[onnx][seq]") {
  auto m = tfo::load(kDir + "emb_lstm.onnx");
  Tensor ids = read_txt(kDir + "emb_lstm.input.txt").astype(kInt64);
  auto loss_of = [&] { return mean(square((*m)(ids))); };
  Tensor before = loss_of();
  before.backward();
  for (auto& [name, p] : m->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item<double>() > 0);
  }
  {
    NoGradGuard ng;
    for (Tensor& p : m->parameters()) p -= p.grad() * 0.5;
  }
  CHECK(loss_of().item<double>() < before.item<double>());

  auto enc = tfo::load(kDir + "encoder.onnx");
  enc->to(kFloat64);
  Tensor x = read_txt(kDir + "encoder.input.txt").astype(kFloat64).slice(0, 0, 2).slice(1, 0, 3);
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*enc)(in[0]); }, {x}, 1e-6, 1e-6, 1e-4);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("onnx seq: imported recurrent nodes pass the gradient checker (float64)", "[onnx][seq]") {
  auto m = tfo::load(kDir + "bigru.onnx");
  m->to(kFloat64);
  Tensor x = read_txt(kDir + "bigru.input.txt").astype(kFloat64).slice(0, 0, 2).slice(1, 0, 3);
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*m)(in[0]); }, {x}, 1e-6, 1e-6, 1e-4);
  INFO(r.message);
  CHECK(r.ok);
  // tapeflow's own LSTM (go_backwards, sequences) exported, imported, in float64.
  manual_seed(5);
  nn::LSTM lstm(3, nn::RNNOptions().return_sequences(true).go_backwards(true));
  auto back = tfo::load_from_string(tfo::export_model_to_string(lstm, uniform({2, 4, 2}, -1, 1)));
  back->to(kFloat64);
  Tensor x2 = uniform({2, 3, 2}, -1, 1, Options(kFloat64));
  auto r2 = autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*back)(in[0]); }, {x2}, 1e-6, 1e-6, 1e-4);
  INFO(r2.message);
  CHECK(r2.ok);
}

TEST_CASE("onnx seq: every sequence case exports and imports back to the same outputs", "[onnx][seq]") {
  manual_seed(15);
  for (const auto& c : seq_models::cases()) {
    INFO(c.name);
    auto model = c.make();
    std::string bytes = tfo::export_model_to_string(*model, seq_models::example(c, 3));
    auto back = tfo::load_from_string(bytes, c.name);
    model->eval();
    NoGradGuard ng;
    Tensor x = seq_models::example(c, 5);  // another batch size
    CHECK(matches((*back)(x), (*model)(x), 1e-5, 1e-5));
    if (c.any_length) {  // one ONNX recurrent node runs any sequence length
      Tensor longer = seq_models::example(c, 4, 9);
      CHECK(matches((*back)(longer), (*model)(longer), 1e-5, 1e-5));
    }
    // Every parameter is an initializer of its own name (other float constants are too).
    auto got = back->named_parameters();
    for (const auto& [name, p] : model->named_parameters()) {
      bool found = false;
      for (const auto& [n2, p2] : got) found = found || (n2 == name && p2.shape() == p.shape());
      INFO(name);
      CHECK(found);
    }
  }
}

TEST_CASE("onnx seq: a GRU with linear_before_reset = 0 matches float64 loops", "[onnx][seq]") {
  const int64_t N = 2, T = 3, I = 2, H = 2;
  manual_seed(4);
  Tensor W = uniform({1, 3 * H, I}, -1, 1), R = uniform({1, 3 * H, H}, -1, 1), B = uniform({1, 6 * H}, -1, 1);
  Tensor x = uniform({N, T, I}, -2, 2);
  Model md({N, T, I});
  md.init("W", W);
  md.init("R", R);
  md.init("B", B);
  auto& n = md.node("GRU", "gru", {"input", "W", "R", "B"}, {"y"});
  attr_int(n, "hidden_size", H);
  attr_int(n, "layout", 1);  // X (N, T, I), Y (N, T, 1, H)
  md.node("Reshape", "flat", {"y", "shape"}, {"output"});
  md.init("shape", from_vector(std::vector<int64_t>{N, T * H}));
  auto m = tfo::load_from_string(md.bytes(), "gru_lbr0");
  NoGradGuard ng;
  Tensor y = (*m)(x);
  // ONNX's GRU (gates z, r, h): z = s(x Wz + h Rz + Wbz + Rbz), r likewise, h~ = tanh(x Wh +
  // (r * h) Rh + Rbh + Wbh), h' = (1 - z) h~ + z h.
  auto w = W.to_vector<double>(), rr = R.to_vector<double>(), b = B.to_vector<double>(), xs = x.to_vector<double>();
  std::vector<double> want;
  std::vector<std::vector<double>> out(N * T);
  for (int64_t bi = 0; bi < N; ++bi) {
    std::vector<double> h(H, 0.0);
    for (int64_t t = 0; t < T; ++t) {
      auto xw = [&](int64_t row) {
        double s = b[row];
        for (int64_t k = 0; k < I; ++k) s += xs[(bi * T + t) * I + k] * w[row * I + k];
        return s;
      };
      auto hr = [&](int64_t row, const std::vector<double>& hv) {
        double s = b[3 * H + row];
        for (int64_t k = 0; k < H; ++k) s += hv[k] * rr[row * H + k];
        return s;
      };
      auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
      std::vector<double> z(H), r(H), rh(H), hn(H);
      for (int64_t j = 0; j < H; ++j) {
        z[j] = sig(xw(j) + hr(j, h));
        r[j] = sig(xw(H + j) + hr(H + j, h));
        rh[j] = r[j] * h[j];
      }
      for (int64_t j = 0; j < H; ++j) hn[j] = std::tanh(xw(2 * H + j) + hr(2 * H + j, rh));
      for (int64_t j = 0; j < H; ++j) h[j] = (1 - z[j]) * hn[j] + z[j] * h[j];
      out[bi * T + t] = h;
    }
  }
  for (auto& v : out) want.insert(want.end(), v.begin(), v.end());
  CHECK(matches(y, from_vector(want, {N, T * H}).astype(kFloat32)));
}

TEST_CASE("onnx seq: bad input names the node and the shapes", "[onnx][seq]") {
  SECTION("an LSTM node with wrong weight shapes") {
    Model md({2, 3, 4});
    md.init("W", zeros({1, 8, 5}));  // input size 4, not 5
    md.init("R", zeros({1, 8, 2}));
    auto& n = md.node("LSTM", "lstm", {"input", "W", "R"}, {"output"});
    attr_int(n, "hidden_size", 2);
    auto m = tfo::load_from_string(md.bytes());
    REQUIRE_THROWS_WITH((*m)(zeros({3, 2, 4})),
                        Contains("node 'lstm' (LSTM) on inputs of shapes (3, 2, 4), (1, 8, 5), (1, 8, 2)") &&
                            Contains("W has shape (1, 8, 5), expected (1, 8, 4)"));
  }
  SECTION("sequence_lens and non-default activations are refused") {
    Model md({2, 3, 4});
    md.init("W", zeros({1, 8, 4}));
    md.init("R", zeros({1, 8, 2}));
    md.init("lens", from_vector(std::vector<int32_t>{3, 3}));
    auto& n = md.node("GRU", "gru", {"input", "W", "R", "", "lens"}, {"output"});
    attr_int(n, "hidden_size", 2);
    auto m = tfo::load_from_string(md.bytes());
    REQUIRE_THROWS_WITH((*m)(zeros({3, 2, 4})), Contains("node 'gru' (GRU)") && Contains("sequence_lens is not supported"));
  }
  SECTION("a Gather index out of range at run time") {
    auto m = tfo::load(kDir + "emb_lstm.onnx");
    Tensor ids = from_vector(std::vector<int64_t>{1, 2, 12, 3}, {2, 2});
    REQUIRE_THROWS_WITH((*m)(ids), Contains("node '/embed/Gather' (Gather) on inputs of shapes (10, 6), (2, 2)") &&
                                       Contains("index 12 is out of range for axis 0 of size 10"));
  }
  SECTION("an Einsum equation tapeflow's einsum cannot do") {
    Model md({3, 3});
    attr_string(md.node("Einsum", "diag", {"input"}, {"output"}), "equation", "ii->i");
    auto m = tfo::load_from_string(md.bytes());
    REQUIRE_THROWS_WITH((*m)(zeros({3, 3})), Contains("node 'diag' (Einsum) on inputs of shapes (3, 3)") &&
                                                 Contains("tapeflow's einsum cannot do \"ii->i\""));
    Model three({2, 2});
    attr_string(three.node("Einsum", "e3", {"input", "input", "input"}, {"output"}), "equation", "ij,jk,kl->il");
    auto m3 = tfo::load_from_string(three.bytes());
    REQUIRE_THROWS_WITH((*m3)(zeros({2, 2})), Contains("node 'e3' (Einsum)") && Contains("one or two operands, the node has 3"));
  }
  SECTION("ConstantOfShape and Expand refuse huge outputs") {
    Model md({2, 3});
    md.init("shape", from_vector(std::vector<int64_t>{1 << 20, 1 << 20}));
    md.node("ConstantOfShape", "big", {"shape"}, {"c"});
    md.node("Add", "add", {"input", "c"}, {"output"});
    auto m = tfo::load_from_string(md.bytes());
    REQUIRE_THROWS_WITH((*m)(zeros({2, 3})), Contains("node 'big' (ConstantOfShape)") &&
                                                 Contains("(1048576, 1048576) has more than 67108864 elements"));
    Model ex({2, 3});
    ex.init("shape", from_vector(std::vector<int64_t>{1 << 30, 1, 3}));
    ex.node("Expand", "wide", {"input", "shape"}, {"output"});
    auto m2 = tfo::load_from_string(ex.bytes());
    REQUIRE_THROWS_WITH((*m2)(zeros({2, 3})), Contains("node 'wide' (Expand)") && Contains("the importer's limit"));
  }
  SECTION("export: a Bidirectional layer of a go_backwards layer has no ONNX form") {
    nn::Bidirectional bi(std::make_shared<nn::GRU>(3, nn::RNNOptions().go_backwards(true)));
    REQUIRE_THROWS_WITH(tfo::export_model_to_string(bi, zeros({2, 4, 2})),
                        Contains("op 'bidirectional'") && Contains("go_backwards"));
  }
}
#endif  // TAPEFLOW_TEST_ONNX
