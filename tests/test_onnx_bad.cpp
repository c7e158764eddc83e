// Tests for onnx/import.cpp's checks on hand-made bad models (built with the ONNX project's
// protobuf classes): graph cycles, names nothing produces, unknown data types, initializer data
// that does not match its shape, external data, several inputs, and every unsupported op in one
// message. Each is checked by its message. Built only with ONNX support.
#include <catch2/catch.hpp>

#if TAPEFLOW_TEST_ONNX
#include <string>
#include <vector>

#include "onnx/onnx.h"
#include "onnx/proto.h"
#include "tensor/creation.h"

using namespace tapeflow;
namespace tfo = tapeflow::onnx;  // ::onnx is the ONNX project's namespace
using Catch::Matchers::Contains;

namespace {

using TP = ::onnx::TensorProto;

// input (N, 3) float -> nodes -> output; `edit` adds nodes and initializers.
struct Builder {
  ::onnx::ModelProto m;
  ::onnx::GraphProto& g = *m.mutable_graph();
  Builder() {
    m.set_ir_version(8);
    auto* o = m.add_opset_import();
    o->set_version(17);
    g.set_name("g");
    add_io(g.add_input(), "input");
    add_io(g.add_output(), "output");
  }
  static void add_io(::onnx::ValueInfoProto* v, const std::string& name) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(TP::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("batch");
    t->mutable_shape()->add_dim()->set_dim_value(3);
  }
  ::onnx::NodeProto& node(const std::string& op, const std::string& name, std::vector<std::string> in,
                          std::vector<std::string> out) {
    auto* n = g.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : in) n->add_input(i);
    for (auto& o : out) n->add_output(o);
    return *n;
  }
  TP& init(const std::string& name, int type, std::vector<int64_t> dims) {
    TP* t = g.add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    return *t;
  }
  std::string bytes() const {
    std::string s;
    m.SerializeToString(&s);
    return s;
  }
};

}  // namespace

TEST_CASE("onnx: a hand-made valid model loads and runs", "[onnx]") {
  Builder b;
  TP& w = b.init("w", TP::FLOAT, {3});
  for (float v : {1.f, 2.f, 3.f}) w.add_float_data(v);
  b.node("Mul", "scale", {"input", "w"}, {"h"});
  b.node("Relu", "act", {"h"}, {"output"});
  auto m = tfo::load_from_string(b.bytes(), "ok.onnx");
  CHECK(m->num_nodes() == 2);
  Tensor y = (*m)(from_vector(std::vector<float>{1, -1, 2, -3, 4, 5}, {2, 3}));
  CHECK(y.to_vector<float>() == std::vector<float>{1, 0, 6, 0, 8, 15});
}

TEST_CASE("onnx: a graph cycle is named, node by node", "[onnx]") {
  Builder b;
  b.node("Add", "a", {"input", "d"}, {"c"});
  b.node("Relu", "b", {"c"}, {"d"});
  b.node("Identity", "out", {"d"}, {"output"});
  REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes(), "cycle.onnx"),
                      Contains("onnx load: cycle.onnx: the graph has a cycle through nodes 'a' (Add), 'b' (Relu), 'out' (Identity)"));
}

TEST_CASE("onnx: a name that nothing produces is named", "[onnx]") {
  Builder b;
  b.node("Add", "plus", {"input", "nowhere"}, {"output"});
  REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()),
                      Contains("node 'plus' (Add) reads 'nowhere', which no node, graph input or initializer produces"));
  Builder c;
  c.node("Relu", "r", {"input"}, {"h"});
  REQUIRE_THROWS_WITH(tfo::load_from_string(c.bytes()), Contains("no node produces the graph output 'output'"));
}

TEST_CASE("onnx: unknown data types and mismatched data are refused", "[onnx]") {
  SECTION("float16 initializer") {
    Builder b;
    b.init("h", TP::FLOAT16, {2}).add_int32_data(0);
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()),
                        Contains("initializer 'h': data type 10 (FLOAT16) is not supported"));
  }
  SECTION("a data type code ONNX does not define") {
    Builder b;
    b.init("z", 99, {1});
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("data type 99 (an unknown data type)"));
  }
  SECTION("raw_data shorter than the shape") {
    Builder b;
    b.init("w", TP::FLOAT, {3, 4}).set_raw_data(std::string(40, '\0'));
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()),
                        Contains("initializer 'w': shape (3, 4) needs 48 bytes of float32 data, raw_data has 40"));
  }
  SECTION("typed values that do not fill the shape") {
    Builder b;
    TP& t = b.init("w", TP::INT64, {2, 3});
    for (int i = 0; i < 5; ++i) t.add_int64_data(i);
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()),
                        Contains("initializer 'w': shape (2, 3) needs 6 int64 values, the tensor holds 5"));
  }
  SECTION("a negative dim") {
    Builder b;
    b.init("w", TP::FLOAT, {-2});
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("initializer 'w': negative dim -2"));
  }
  SECTION("external data") {
    Builder b;
    b.init("w", TP::FLOAT, {2}).set_data_location(TP::EXTERNAL);
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("external data"));
  }
  SECTION("a graph input of an unknown type") {
    Builder b;
    b.g.mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(TP::STRING);
    b.node("Identity", "i", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("graph input 'input': data type 8 (STRING)"));
  }
}

TEST_CASE("onnx: graph shape problems: inputs, duplicates, opsets, run-time shapes", "[onnx]") {
  SECTION("two inputs") {
    Builder b;
    Builder::add_io(b.g.add_input(), "second");
    b.node("Add", "a", {"input", "second"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("one input, this one has 2 (input, second)"));
  }
  SECTION("a name produced twice") {
    Builder b;
    b.node("Relu", "r1", {"input"}, {"output"});
    b.node("Tanh", "r2", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("'output' is produced twice (by node 'r2' (Tanh))"));
  }
  SECTION("an opset tapeflow does not know") {
    Builder b;
    b.m.mutable_opset_import(0)->set_version(19);
    b.node("Relu", "r", {"input"}, {"output"});
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()), Contains("opset 19 is not supported (11 to 17)"));
  }
  SECTION("a shape error at run time names the node") {
    Builder b;
    TP& w = b.init("w", TP::FLOAT, {4, 2});
    for (int i = 0; i < 8; ++i) w.add_float_data(1);
    b.node("MatMul", "mm", {"input", "w"}, {"output"});
    auto m = tfo::load_from_string(b.bytes());
    REQUIRE_THROWS_WITH((*m)(zeros({2, 3})),
                        Contains("OnnxModule: node 'mm' (MatMul) on inputs of shapes (2, 3), (4, 2): matmul"));
  }
  SECTION("every unsupported op at once, supported ones not") {
    Builder b;
    b.node("LpPool", "c1", {"input"}, {"h1"});
    b.node("Relu", "r", {"h1"}, {"h2"});
    b.node("MaxRoiPool", "bn", {"h2"}, {"h3"});
    b.node("Custom", "x", {"h3"}, {"output"}).set_domain("com.example");
    REQUIRE_THROWS_WITH(tfo::load_from_string(b.bytes()),
                        Contains("3 unsupported nodes: 'c1' (LpPool), 'bn' (MaxRoiPool), 'x' (Custom) of domain com.example") &&
                            Contains("tapeflow runs: Abs, Add, And, AveragePool, BatchNormalization, Cast") && Contains("Conv, ConvTranspose"));
  }
}
#endif  // TAPEFLOW_TEST_ONNX
