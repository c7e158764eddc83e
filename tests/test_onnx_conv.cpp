// ONNX import of the conv family (onnx/import_conv.cpp), checked against independent references:
//  - single-node models made with ONNX's helper, ONNX Runtime's outputs as the reference
//    (tests/data/onnx/conv_ops/make_cases.py): asymmetric pads, auto_pad, groups, dilations,
//    output_padding, count_include_pad, Pad modes; each also passes the gradient checker (float64);
//  - a PyTorch CNN (tests/data/make_torch_cnn.py): its torch.onnx.export files (batch norm folded
//    into the conv, and kept) and its safetensors state_dict loaded into the equivalent tapeflow
//    Sequential (data::torch_layer_mapping) give PyTorch's outputs; the import fine-tunes;
//  - bad nodes (weights that do not fit the channels / groups, pads of the wrong length, an
//    unknown auto_pad) throw messages naming the node and the shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/grad_mode.h"
#include "data/safetensors.h"
#include "data/torch_state.h"
#include "helpers.h"
#include "onnx_test_util.h"
#include "nn/nn.h"
#include "onnx/onnx.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/sequential.h"
#if TAPEFLOW_TEST_ONNX
#include "onnx/proto.h"
#endif

using namespace tapeflow;
using Catch::Matchers::Contains;
namespace tfo = tapeflow::onnx;  // ::onnx is the ONNX project's namespace

using tapeflow::test::matches;
using tapeflow::test::read_bytes;
using tapeflow::test::read_txt;

namespace {

const std::string kData = std::string(TAPEFLOW_SOURCE_DIR) + "/tests/data/";

const Tensor& find(const data::NamedTensors& ts, const std::string& name) { return tftest::find_named(ts, name); }

}  // namespace

TEST_CASE("onnx conv: single-node models match ONNX Runtime and pass the gradient checker", "[onnx][conv]") {
  if (!tfo::available()) return;
  for (std::string name :
       {"conv_asym_pads_groups", "conv_same_lower", "conv1d_same_upper", "conv_depthwise_valid", "conv_transpose_asym",
        "conv_transpose_groups", "maxpool_asym", "maxpool_dilated", "avgpool_asym_exclude", "avgpool_asym_include",
        "avgpool_pads_exclude", "avgpool_same_upper", "avgpool1d", "global_max_pool", "global_average_pool",
        "batch_norm", "batch_norm_2d", "pad_reflect", "pad_edge", "pad_constant_crop"}) {
    INFO(name);
    const std::string stem = kData + "onnx/conv_ops/" + name;
    auto m = tfo::load(stem + ".onnx");
    Tensor x = read_txt(stem + ".input.txt"), want = read_txt(stem + ".output.txt");
    {
      NoGradGuard ng;
      Tensor y = (*m)(x);
      CHECK(y.shape() == want.shape());
      CHECK(matches(y, want));
      CHECK(matches((*m)(x.slice(0, 0, 1)), want.slice(0, 0, 1)));  // another batch size
    }
    m->to(kFloat64);
    auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*m)(in[0]); }, {x.astype(kFloat64)},
                                 1e-6, 1e-6, 1e-4);
    INFO(r.message);
    CHECK(r.ok);
  }
}

namespace {

// The tapeflow twin of make_torch_cnn.py's torch.nn.Sequential (its indices in comments).
nn::Sequential torch_cnn_twin() {
  using CO = nn::Conv2DOptions;
  nn::Sequential m;
  m.add(nn::Conv2D(4, 3));                                          // 0 Conv2d(3, 4, 3)
  m.add(nn::BatchNormalization(nn::NormOptions().epsilon(1e-5)));  // 1 BatchNorm2d(4)
  m.add(nn::Activation("relu"));                                    // 2 ReLU
  m.add(nn::MaxPooling2D(2));                                       // 3 MaxPool2d(2)
  m.add(nn::ZeroPadding2D(1, 1, 1, 1));                             // 4 Conv2d(4, 6, 3, stride 2, padding 1):
  m.add(nn::Conv2D(6, 3, CO().strides(2).activation("relu")));     //   pad, then a valid conv; 5 ReLU
  m.add(nn::AveragePooling2D(2));                                   // 6 AvgPool2d(2)
  m.add(nn::Flatten());                                             // 7 Flatten (C, H, W order in both)
  m.add(nn::Dense(5));                                              // 8 Linear(24, 5)
  m.build(Shape{3, 18, 18});
  return m;
}

}  // namespace

TEST_CASE("onnx conv: a PyTorch CNN's ONNX export and its state_dict give PyTorch's outputs", "[onnx][conv][torch]") {
  data::NamedTensors ex = data::load_safetensors(kData + "torch_cnn_expected.safetensors");
  const Tensor &x = find(ex, "x"), &want = find(ex, "y");
  REQUIRE(x.shape() == Shape{3, 3, 18, 18});

  // safetensors state_dict -> the tapeflow Sequential.
  using data::TorchLayer;
  auto mapping = data::torch_layer_mapping({{"0", TorchLayer::Conv, "0"},
                                            {"1", TorchLayer::BatchNorm, "1"},
                                            {"4", TorchLayer::Conv, "5"},
                                            {"8", TorchLayer::Linear, "8"}});
  nn::Sequential twin = torch_cnn_twin();
  twin.load_state_dict(data::load_torch_state(kData + "torch_cnn.safetensors", mapping));
  twin.eval();
  {
    NoGradGuard ng;
    CHECK(matches(twin(x), want));
  }
  CHECK(find(twin.named_buffers(), "1.moving_variance").shape() == Shape{4});
  // Without the mapping of the second conv, the strict load names what is left over.
  REQUIRE_THROWS_WITH(data::load_torch_state(kData + "torch_cnn.safetensors",
                                             data::torch_layer_mapping({{"0", TorchLayer::Conv, "0"},
                                                                        {"1", TorchLayer::BatchNorm, "1"},
                                                                        {"8", TorchLayer::Linear, "8"}})),
                      Contains("no mapping uses '4.bias', '4.weight'"));

  if (!tfo::available()) return;
  for (std::string file : {"torch_cnn", "torch_cnn_bn"}) {
    INFO(file);
    auto m = tfo::load(kData + "onnx/" + file + ".onnx");  // exported at batch 2: the batch is dynamic
    NoGradGuard ng;
    CHECK(matches((*m)(x), want));
  }
  // The batch-norm file's initializers are the state_dict's names.
  auto m = tfo::load(kData + "onnx/torch_cnn_bn.onnx");
  CHECK(find(m->named_parameters(), "1.running_var").shape() == Shape{4});
  CHECK(find(m->named_parameters(), "0.weight").shape() == Shape{4, 3, 3, 3});

  // Imported conv weights are parameters: a step of gradient descent lowers a loss.
  Tensor target = zeros({3, 5});
  auto loss_of = [&] { return mean(square((*m)(x) - target)); };
  Tensor before = loss_of();
  before.backward();
  for (std::string w : {"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "8.weight"}) {
    INFO(w);
    Tensor p = find(m->named_parameters(), w);  // a copy: named_parameters() is a temporary
    REQUIRE(p.grad().defined());
    CHECK(p.grad().shape() == p.shape());
  }
  {
    NoGradGuard ng;
    for (Tensor& p : m->parameters())
      if (p.grad().defined()) p -= p.grad() * 0.05;
  }
  CHECK(loss_of().item<double>() < before.item<double>());

  // The whole imported graph passes the gradient checker in float64 (one sample).
  m->to(kFloat64);
  Tensor x1 = x.slice(0, 0, 1).astype(kFloat64);
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return (*m)(in[0]); }, {x1}, 1e-6, 1e-6, 1e-4);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("onnx conv: export then import of a CNN gives the same outputs and names", "[onnx][conv]") {
  if (!tfo::available()) return;
  manual_seed(5);
  nn::Sequential m = torch_cnn_twin();
  {
    NoGradGuard ng;
    for (auto& [n, b] : m.named_buffers()) b.copy_(uniform(b.shape(), 0.5, 1.5));
  }
  auto back = tfo::load_from_string(tfo::export_model_to_string(m, uniform({2, 3, 18, 18}, -1, 1)));
  CHECK(find(back->named_parameters(), "1.moving_mean").shape() == Shape{4});  // buffers keep their names
  m.eval();
  NoGradGuard ng;
  Tensor x = uniform({4, 3, 18, 18}, -1, 1);
  CHECK(matches((*back)(x), m(x)));
}

#if TAPEFLOW_TEST_ONNX
namespace {

using TP = ::onnx::TensorProto;

// input (N, C, H, W) float -> one node -> output, with float initializers filled with 0.5.
struct Net {
  ::onnx::ModelProto m;
  ::onnx::GraphProto& g = *m.mutable_graph();
  ::onnx::NodeProto* n = nullptr;
  Net(const std::string& op, std::vector<std::pair<std::string, Shape>> weights) {
    m.set_ir_version(8);
    m.add_opset_import()->set_version(17);
    g.set_name("g");
    for (auto* v : {g.add_input(), g.add_output()}) {
      v->set_name(v == &g.input(0) ? "input" : "output");
      v->mutable_type()->mutable_tensor_type()->set_elem_type(TP::FLOAT);
      v->mutable_type()->mutable_tensor_type()->mutable_shape();  // present, no dims given
    }
    n = g.add_node();
    n->set_op_type(op);
    n->set_name("bad_" + op);
    n->add_input("input");
    n->add_output("output");
    for (auto& [name, shape] : weights) {
      TP* t = g.add_initializer();
      t->set_name(name);
      t->set_data_type(TP::FLOAT);
      int64_t k = 1;
      for (int64_t d : shape) t->add_dims(d), k *= d;
      for (int64_t i = 0; i < k; ++i) t->add_float_data(0.5f);
      n->add_input(name);
    }
  }
  Net& ints(const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t i : v) a->add_ints(i);
    return *this;
  }
  Net& attr(const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  Net& str(const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  Tensor run(const Tensor& x) {
    std::string s;
    m.SerializeToString(&s);
    auto mod = tfo::load_from_string(s, "bad.onnx");
    return (*mod)(x);
  }
};

}  // namespace

TEST_CASE("onnx conv: bad conv-family nodes throw naming the node and the shapes", "[onnx][conv]") {
  Tensor x = ones({1, 4, 5, 5});
  Tensor before = x.clone();
  SECTION("weight that does not fit the input channels") {
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 3, 3, 3}}}).run(x),
                        Contains("OnnxModule: node 'bad_Conv' (Conv) on inputs of shapes (1, 4, 5, 5), (2, 3, 3, 3): "
                                 "weight of shape (2, 3, 3, 3) with group 1 expects 3 input channels") &&
                            Contains("the input of shape (1, 4, 5, 5) has 4"));
  }
  SECTION("weight that does not fit the groups") {
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {6, 2, 3, 3}}}).attr("group", 3).run(x),
                        Contains("(Conv) on inputs of shapes (1, 4, 5, 5), (6, 2, 3, 3)") &&
                            Contains("with group 3 expects 6 input channels"));
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {5, 2, 3, 3}}}).attr("group", 2).run(x),
                        Contains("with group 2 expects 4 input channels (and output channels divisible by group)"));
    REQUIRE_THROWS_WITH(Net("ConvTranspose", {{"w", {3, 2, 3, 3}}}).run(x),
                        Contains("node 'bad_ConvTranspose' (ConvTranspose)") &&
                            Contains("weight of shape (3, 2, 3, 3) expects 3 input channels"));
  }
  SECTION("a weight of the wrong rank") {
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3}}}).run(x),
                        Contains("weight of shape (2, 4, 3) does not fit the input of shape (1, 4, 5, 5)"));
  }
  SECTION("pads of the wrong length") {
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).ints("pads", {1, 1}).run(x),
                        Contains("node 'bad_Conv' (Conv) on inputs of shapes (1, 4, 5, 5), (2, 4, 3, 3): pads [1, 1] "
                                 "has 2 values, expected 4 (begin and end of each of the 2 spatial dims"));
    REQUIRE_THROWS_WITH(Net("MaxPool", {}).ints("kernel_shape", {2, 2}).ints("pads", {0, 0, 1}).run(x),
                        Contains("node 'bad_MaxPool' (MaxPool) on inputs of shapes (1, 4, 5, 5): pads [0, 0, 1] has 3 values"));
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).ints("strides", {1, 1, 1}).run(x),
                        Contains("strides [1, 1, 1] has 3 values, expected 2"));
  }
  SECTION("an unsupported auto_pad") {
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).str("auto_pad", "SAME_MIDDLE").run(x),
                        Contains("node 'bad_Conv' (Conv) on inputs of shapes (1, 4, 5, 5), (2, 4, 3, 3): "
                                 "auto_pad 'SAME_MIDDLE' is not supported (NOTSET, SAME_UPPER, SAME_LOWER or VALID)"));
    REQUIRE_THROWS_WITH(Net("ConvTranspose", {{"w", {4, 2, 3, 3}}}).str("auto_pad", "SAME_UPPER").run(x),
                        Contains("auto_pad 'SAME_UPPER' is not supported for ConvTranspose"));
  }
  SECTION("other unsupported forms") {
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).ints("kernel_shape", {2, 2}).run(x),
                        Contains("kernel_shape [2, 2] does not match the weight of shape (2, 4, 3, 3)"));
    REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 1, 3, 3}}}).run(ones({1, 4, 1, 5, 5})),
                        Contains("3-D convolution is not supported (1-D and 2-D only"));
    REQUIRE_THROWS_WITH(Net("BatchNormalization", {{"s", {4}}, {"b", {4}}, {"m", {4}}, {"v", {4}}})
                            .attr("training_mode", 1)
                            .run(x),
                        Contains("(BatchNormalization)") && Contains("training_mode 1 is not supported"));
    REQUIRE_THROWS_WITH(Net("BatchNormalization", {{"s", {3}}, {"b", {3}}, {"m", {3}}, {"v", {3}}}).run(x),
                        Contains("(BatchNormalization) on inputs of shapes (1, 4, 5, 5), (3,), (3,), (3,), (3,)") &&
                            Contains("batch_norm: weight must have shape (4,), got (3,)"));
    REQUIRE_THROWS_WITH(Net("MaxPool", {}).run(x), Contains("Required attribute 'kernel_shape' is missing"));
  }
  CHECK(x.to_vector<float>() == before.to_vector<float>());  // the input is left unchanged
}
#endif

namespace {

// A module running one functional op (for the export checks below).
struct FnModel : nn::Module {
  std::function<Tensor(const Tensor&)> f;
  explicit FnModel(std::function<Tensor(const Tensor&)> fn) : f(std::move(fn)) {}
  Tensor forward(const Tensor& x) override { return f(x); }
};

}  // namespace

TEST_CASE("onnx conv: export of conv-family ops without an ONNX form names the problem", "[onnx][conv]") {
  if (!tfo::available()) return;
  Tensor x = uniform({2, 3, 6, 6}, -1, 1);
  FnModel circular([](const Tensor& t) { return pad(t, {1, 1}, "circular"); });
  REQUIRE_THROWS_WITH(tfo::export_model_to_string(circular, x),
                      Contains("op 'pad' on inputs of shapes (2, 3, 6, 6) cannot be exported: circular padding"));
  Tensor rm = zeros({3}), rv = ones({3});
  FnModel train_bn([&](const Tensor& t) { return batch_norm(t, rm, rv, Tensor(), Tensor(), true); });
  REQUIRE_THROWS_WITH(tfo::export_model_to_string(train_bn, x),
                      Contains("op 'batch_norm'") && Contains("training mode (batch statistics)"));
  FnModel ceil_avg([](const Tensor& t) { return avg_pool2d(t, 3, 2, 1, true, true); });  // 6 -> 4 (floor: 3)
  REQUIRE_THROWS_WITH(tfo::export_model_to_string(ceil_avg, x),
                      Contains("op 'avg_pool'") && Contains("ceil_mode and count_include_pad has no exact ONNX form"));
  // The same with count_include_pad = false exports (extra end padding) and imports back.
  FnModel ceil_excl([](const Tensor& t) { return avg_pool2d(t, 3, 2, 1, true, false); });
  auto back = tfo::load_from_string(tfo::export_model_to_string(ceil_excl, x));
  NoGradGuard ng;
  CHECK(matches((*back)(x), ceil_excl(x)));
}

TEST_CASE("onnx conv: an unbatched conv exports with Unsqueeze / Squeeze (fixed batch)", "[onnx][conv]") {
  if (!tfo::available()) return;
  manual_seed(8);
  Tensor w = uniform({4, 3, 3, 3}, -1, 1), b = uniform({4}, -1, 1);
  FnModel conv([&](const Tensor& t) { return max_pool2d(conv2d(t, w, b, 1, 1), 2); });
  Tensor x = uniform({3, 6, 6}, -1, 1);  // (C, H, W): no batch dim
  tfo::ExportOptions fixed;
  fixed.dynamic_batch = false;
  auto back = tfo::load_from_string(tfo::export_model_to_string(conv, x, fixed));
  NoGradGuard ng;
  Tensor y = (*back)(x);
  CHECK(y.shape() == Shape{4, 3, 3});
  CHECK(matches(y, conv(x)));
}

#if TAPEFLOW_TEST_ONNX
TEST_CASE("onnx conv: hostile attribute values are refused before any arithmetic or allocation", "[onnx][conv]") {
  Tensor x = ones({1, 4, 5, 5});
  REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).ints("pads", {0, 0, int64_t(1) << 40, 0}).run(x),
                      Contains("(Conv) on inputs of shapes (1, 4, 5, 5), (2, 4, 3, 3): pads [0, 0, 1099511627776, 0] "
                               "has a value beyond +-2^20"));
  REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).ints("strides", {INT64_MAX, 1}).str("auto_pad", "SAME_UPPER").run(x),
                      Contains("strides [9223372036854775807, 1] has a value beyond +-2^20"));
  REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).attr("group", INT64_MAX).run(x),
                      Contains("group must be in 1 to 2^20, got 9223372036854775807"));
  REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).ints("pads", {1 << 20, 1 << 20, 1 << 20, 1 << 20}).run(x),
                      Contains("the padded input of shape [1, 4, 2097157, 2097157] would exceed the importer's limit "
                               "of 2^27 elements per tensor"));
  REQUIRE_THROWS_WITH(Net("ConvTranspose", {{"w", {4, 2, 3, 3}}}).ints("strides", {1 << 20, 1 << 20}).run(x),
                      Contains("(ConvTranspose)") && Contains("the output of shape [1, 2, 4194307, 4194307] would exceed"));
  REQUIRE_THROWS_WITH(Net("Conv", {{"w", {2, 4, 3, 3}}}).run(zeros({0, 4, 5, 5})),
                      Contains("an empty input of shape (0, 4, 5, 5) is not supported"));
  REQUIRE_THROWS_WITH(Net("MaxPool", {}).ints("kernel_shape", {1, 1}).ints("pads", {0, 0, 1 << 20, 1 << 20}).run(x),
                      Contains("(MaxPool)") && Contains("would exceed the importer's limit"));
}
#endif
