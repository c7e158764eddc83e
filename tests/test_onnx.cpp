// Tests for onnx/: importing models exported by PyTorch (tests/data/onnx/make_fixtures.py) and
// checking them against PyTorch's outputs, fine-tuning an imported model, export -> import round
// trips, and every kind of bad file (truncated, corrupted, cycles, dangling names, unknown dtypes,
// data that does not match its shape, unsupported ops), each by its message. ONNX Runtime's view
// of exported files is checked by tests/onnx/check.sh (make test-onnx).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/grad_mode.h"
#include "autograd/trace.h"
#include "nn/activations.h"
#include "helpers.h"
#include "onnx_test_util.h"
#include "nn/layers.h"
#include "training/sequential.h"
#include "onnx/onnx.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;
using Catch::Matchers::Contains;

using tapeflow::test::matches;
using tapeflow::test::read_bytes;
using tapeflow::test::read_txt;

namespace {

const std::string kDir = std::string(TAPEFLOW_SOURCE_DIR) + "/tests/data/onnx/";

std::vector<std::string> names_of(const nn::NamedTensors& ps) {
  std::vector<std::string> n;
  for (const auto& [name, t] : ps) n.push_back(name);
  return n;
}

// A module whose forward uses an op the tracer does not follow (cumsum).
struct CumsumModel : nn::Module {
  Tensor w = register_parameter("w", ones({3}));
  Tensor forward(const Tensor& x) override { return cumsum(x * w, 1); }
};

}  // namespace

TEST_CASE("autograd trace: ops report name, inputs, output and attributes", "[onnx][trace]") {
  struct Recorder : autograd::Tracer {
    std::vector<autograd::TraceOp> ops;
    void on_op(autograd::TraceOp op) override {
      CHECK_FALSE(autograd::tracing());  // the tracer's own ops are not traced
      ops.push_back(std::move(op));
    }
  } rec;
  Tensor x = from_vector(std::vector<float>{-1, 2, -3, 4, 5, -6}, {2, 3});
  Tensor s, l, r;
  {
    autograd::TraceGuard guard(&rec);
    CHECK(autograd::tracing());
    s = sum(softmax(x, 1), {0}, true);
    l = nn::activations::leaky_relu(x.reshape({3, 2}), 0.25);
  }
  CHECK_FALSE(autograd::tracing());
  r = relu(x);  // not recorded: no tracer any more
  std::vector<std::string> names;
  for (const auto& op : rec.ops) names.push_back(op.op);
  REQUIRE(names.size() == 7);
  if (names[3] == "binary.mul") std::swap(names[3], names[4]);  // the argument order is unspecified
  CHECK(names == std::vector<std::string>{"softmax", "reduce.sum", "reshape", "binary.gt", "binary.mul",
                                          "where", "LeakyRelu"});
  const auto& sm = rec.ops[0];
  CHECK(sm.inputs.size() == 1);
  CHECK(sm.inputs[0].impl() == x.impl());
  CHECK(sm.attr("axis")->ints == std::vector<int64_t>{1});
  const auto& red = rec.ops[1];
  CHECK(red.inputs[0].impl() == sm.output.impl());
  CHECK(red.output.impl() == s.impl());
  CHECK(red.attr("axes")->ints == std::vector<int64_t>{0});
  CHECK(red.attr("keepdims")->ints == std::vector<int64_t>{1});
  CHECK(rec.ops[2].output.shape() == Shape({3, 2}));
  const auto& lr = rec.ops.back();  // the composite comes after its parts, with the same output
  CHECK(lr.output.impl() == l.impl());
  CHECK(lr.output.impl() == rec.ops[5].output.impl());
  CHECK(lr.inputs[0].impl() == rec.ops[2].output.impl());
  CHECK(lr.attr("alpha")->f == 0.25);
  CHECK(lr.attr("beta") == nullptr);
}

TEST_CASE("onnx: without ONNX support every function says so", "[onnx]") {
  if (onnx::available()) return;  // the other tests cover the built-in case
  nn::Sequential m;
  m.add(nn::Dense(2, "relu", true, "glorot_uniform", "zeros", 3));
  REQUIRE_THROWS_WITH(onnx::export_model_to_string(m, zeros({2, 3})), Contains("built without ONNX support"));
  REQUIRE_THROWS_WITH(onnx::load(kDir + "mlp.onnx"), Contains("built without ONNX support"));
}

TEST_CASE("onnx: PyTorch MLPs load and match PyTorch's outputs", "[onnx]") {
  if (!onnx::available()) return;
  for (std::string name : {"mlp", "mlp_view", "cnn"}) {
    INFO(name);
    auto m = onnx::load(kDir + name + ".onnx");
    Tensor x = read_txt(kDir + name + ".input.txt"), want = read_txt(kDir + name + ".output.txt");
    REQUIRE(x.size(0) == 5);  // exported at batch 2: the batch dim is dynamic
    NoGradGuard ng;
    Tensor y = (*m)(x);
    CHECK(y.shape() == want.shape());
    CHECK(matches(y, want));
    CHECK(m->input_name() == "input");
    CHECK(m->output_name() == "output");
    CHECK(m->opset() == 17);
  }
  // Initializer names are the parameter names ("fc1.weight": child "fc1", parameter "weight").
  auto m = onnx::load(kDir + "mlp.onnx");
  CHECK(names_of(m->named_parameters()) ==
        std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight",
                                 "fc3.bias", "fc4.weight", "fc4.bias", "out.weight", "out.bias"});
  CHECK(m->count_params() == 6 * 16 + 16 + 16 * 8 + 8 + 2 * (8 * 8 + 8) + 8 * 3 + 3);
}

TEST_CASE("onnx: an imported model fine-tunes (its loss falls)", "[onnx]") {
  if (!onnx::available()) return;
  auto m = onnx::load(kDir + "mlp.onnx");
  Tensor x = read_txt(kDir + "mlp.input.txt");
  Tensor target = from_vector(std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0}, {5, 3});
  auto loss_of = [&] { return mean(square((*m)(x) - target)); };
  Tensor before = loss_of();
  before.backward();
  for (auto& [name, p] : m->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    REQUIRE(p.grad().shape() == p.shape());
  }
  double lr = 1.0;
  {
    NoGradGuard ng;
    for (Tensor& p : m->parameters()) p -= p.grad() * lr;
  }
  double after = loss_of().item<double>();
  CHECK(after < before.item<double>());
}

TEST_CASE("onnx: imported graphs pass the gradient checker (float64)", "[onnx]") {
  if (!onnx::available()) return;
  for (std::string name : {"mlp", "mlp_view", "cnn"}) {
    INFO(name);
    auto m = onnx::load(kDir + name + ".onnx");
    m->to(kFloat64);
    Tensor x = read_txt(kDir + name + ".input.txt").astype(kFloat64);
    auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*m)(in[0]); }, {x}, 1e-6, 1e-6, 1e-4);
    INFO(r.message);
    CHECK(r.ok);
  }
}

// (Unsupported ops listed together in one message: tests/test_onnx_bad.cpp. cnn.onnx, once the
// example of unsupported Conv / MaxPool / GlobalAveragePool nodes, now loads: see above.)

TEST_CASE("onnx: export then import gives the same model, names and outputs", "[onnx]") {
  if (!onnx::available()) return;
  manual_seed(3);
  nn::Sequential m;
  m.add(nn::Flatten());
  m.add(nn::Dense(8, "relu"));
  m.add(nn::Dropout(0.5));
  m.add(nn::Dense(6, "elu"));
  m.add(nn::Dense(5, "leaky_relu"));
  m.add(nn::Dense(4, "softmax"));  // not built: the traced call builds the layers
  std::string bytes = onnx::export_model_to_string(m, uniform({3, 2, 3}, -2, 2));
  CHECK(m.is_training());  // the trace ran in eval mode; the mode is given back
  auto back = onnx::load_from_string(bytes);
  CHECK(names_of(back->named_parameters()) == names_of(m.named_parameters()));
  m.eval();
  NoGradGuard ng;
  Tensor x = uniform({9, 2, 3}, -2, 2);  // another batch size
  CHECK(matches((*back)(x), m(x)));
}

TEST_CASE("onnx: export errors name the problem", "[onnx]") {
  if (!onnx::available()) return;
  nn::Sequential m;
  m.add(nn::Dense(2, "relu", true, "glorot_uniform", "zeros", 3));
  REQUIRE_THROWS_WITH(onnx::export_model_to_string(m, zeros({1, 3})), Contains("batch dim of at least 2"));
  onnx::ExportOptions fixed;
  fixed.dynamic_batch = false;
  CHECK_NOTHROW(onnx::export_model_to_string(m, zeros({1, 3}), fixed));
  fixed.opset = 9;
  REQUIRE_THROWS_WITH(onnx::export_model_to_string(m, zeros({1, 3}), fixed), Contains("opset 9 is not supported"));
  REQUIRE_THROWS_WITH(onnx::export_model(m, zeros({2, 3}), "/nonexistent-dir/m.onnx"), Contains("cannot open"));
  CumsumModel c;
  REQUIRE_THROWS_WITH(onnx::export_model_to_string(c, ones({2, 3})),
                      Contains("made by CumsumBackward") && Contains("does not trace"));
}

TEST_CASE("onnx: truncated and corrupted files throw, never crash", "[onnx]") {
  if (!onnx::available()) return;
  std::string good = read_bytes(kDir + "mlp.onnx");
  REQUIRE_THROWS_WITH(onnx::load_from_string(""), Contains("empty"));
  REQUIRE_THROWS_WITH(onnx::load_from_string(good.substr(0, good.size() / 2), "half.onnx"),
                      Contains("onnx load: half.onnx") && Contains("not an ONNX model"));
  REQUIRE_THROWS_WITH(onnx::load("/nonexistent.onnx"), Contains("cannot open '/nonexistent.onnx'"));
  Tensor x = read_txt(kDir + "mlp.input.txt");
  // Every truncation, and random byte changes: a tapeflow::Error or a model that runs.
  int thrown = 0, loaded = 0;
  auto attempt = [&](const std::string& bytes) {
    try {
      auto m = onnx::load_from_string(bytes);
      ++loaded;
      try {
        NoGradGuard ng;
        (*m)(x);
      } catch (const Error&) {
      }
    } catch (const Error&) {
      ++thrown;
    }
  };
  for (size_t cut = 0; cut < good.size(); ++cut) attempt(good.substr(0, cut));
  CHECK(thrown == (int)good.size());  // opset_import comes last: no prefix is a whole model
  std::mt19937 rng(15);
  for (int i = 0; i < 300; ++i) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = (char)(rng() & 0xff);
    attempt(bad);
  }
  CHECK(thrown + loaded == (int)good.size() + 300);
}
