// The op tables (backends/op_table.h) and what is generated from them: names, dtype rules,
// fused backward ops; erf and gelu (the ops added through the table) against values from
// Python's math.erf in float64, on every device, with their gradients.
#include <set>
#include <string>

#include "devices.h"
#include "helpers.h"
#include "autograd/autograd.h"
#include "autograd/grad_mode.h"
#include "backends/backend.h"
#include "nn/activations.h"
#include "tensor/internal.h"

using namespace tapeflow;
using backend::BinaryOp;
using backend::ReduceOp;
using backend::UnaryOp;
using Catch::Matchers::Contains;

namespace {

const std::vector<double> kXs = {-3.0, -1.5, -0.5, -1e-3, 0.0, 0.25, 0.7, 1.0, 2.0, 4.5};
// python3: math.erf(x); 2/sqrt(pi)*exp(-x*x); x*0.5*(1+erf(x/sqrt(2)));
// 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x**3)))
const std::vector<double> kErf = {-0.9999779095030014, -0.9661051464753108, -0.5204998778130465,
                                  -0.0011283787909692365, 0.0, 0.2763263901682369, 0.6778011938374184,
                                  0.8427007929497149, 0.9953222650189527, 0.9999999998033839};
const std::vector<double> kErfGrad = {0.00013925305194674786, 0.11893028922362936, 0.8787825789354448,
                                      1.1283780387169096, 1.1283791670955126, 1.0600141293761143,
                                      0.6912748604105386, 0.4151074974205947, 0.020666985354092053,
                                      1.81130589590869e-09};
const std::vector<double> kGelu = {-0.00404969409489031, -0.10021080190328713, -0.15426876936299344,
                                   -0.000499601057786089, 0.0, 0.14967658142073093, 0.5306254434438489,
                                   0.8413447460685429, 1.9544997361036416, 4.4999847104709385};
const std::vector<double> kGeluTanh = {-0.0036373920817729943, -0.10042842301976707, -0.15428599017485606,
                                       -0.000499601057786418, 0.0, 0.149675350701685, 0.5305701347051167,
                                       0.8411919906082768, 1.954597694087775, 4.499994863262588};

}  // namespace

TEST_CASE("op tables: enums, names and flags agree", "[optable]") {
  std::set<std::string> names;
  for (int i = 0; i < int(UnaryOp::Count); ++i) {
    std::string n = backend::op_name(UnaryOp(i));
    CHECK_FALSE(n.empty());
    CHECK(names.insert(n).second);
  }
  CHECK(std::string(backend::op_name(UnaryOp::Erf)) == "erf");
  CHECK(std::string(backend::op_name(UnaryOp::IsInf)) == "isinf");
  CHECK(std::string(backend::op_name(BinaryOp::LogicalOr)) == "logical_or");
  CHECK(std::string(backend::op_name(ReduceOp::Any)) == "any");
  CHECK(backend::is_float_only(UnaryOp::Exp));
  CHECK_FALSE(backend::is_float_only(UnaryOp::Abs));
  CHECK(backend::is_bool_output(UnaryOp::IsNan));
  CHECK(backend::is_bool_output(BinaryOp::Ge));
  CHECK_FALSE(backend::is_bool_output(BinaryOp::TanhGrad));
  CHECK(backend::is_bool_output(ReduceOp::All));
  CHECK_FALSE(backend::is_bool_output(ReduceOp::Sum));
  // Every fused backward op maps back to its unary op and is named after it.
  int grads = 0;
  for (int i = 0; i < int(UnaryOp::Count); ++i) {
    UnaryOp op = UnaryOp(i);
    if (backend::grad_of(op) == backend::GradOf::NoGrad) {
      CHECK(backend::grad_op(op) == BinaryOp::Count);
      continue;
    }
    ++grads;
    BinaryOp g = backend::grad_op(op);
    REQUIRE(backend::is_unary_grad(g));
    CHECK(backend::grad_source(g) == op);
    CHECK(std::string(backend::op_name(g)) == std::string(backend::op_name(op)) + "_backward");
  }
  CHECK(grads == int(BinaryOp::Count) - int(BinaryOp::LogicalOr) - 1);
  CHECK_FALSE(backend::is_unary_grad(BinaryOp::LogicalOr));
  CHECK(std::string(backend::op_name(BinaryOp(200))) == "unknown binary op");
}

TEST_CASE("op tables: every unary op runs on every dtype through the front-end rule", "[optable]") {
  // Float-only ops give float32 for integer input; the others keep the dtype (Bool for the
  // predicates). Runs the CPU backend for each table line, so a new line is covered at once.
  Tensor xi = tensor({-2, 0, 3}).astype(kInt32);
  for (int i = 0; i < int(UnaryOp::Count); ++i) {
    UnaryOp op = UnaryOp(i);
    INFO(backend::op_name(op));
    DType in = backend::is_float_only(op) ? kFloat32 : kInt32;
    DType want = backend::is_bool_output(op) ? kBool : in;
    Tensor x = xi.astype(in);
    Tensor out = zeros({3}, Options(want));
    backend::cpu_backend().unary(op, detail::view_of(x), detail::view_of(out), -1.0, 2.0);
    if (backend::is_float_only(op)) {
      // An integer view is refused with the op's name.
      Tensor oi = zeros({3}, Options(kInt32));
      CHECK_THROWS_WITH(backend::cpu_backend().unary(op, detail::view_of(xi), detail::view_of(oi), 0, 0),
                        Contains(backend::op_name(op)) && Contains("floating"));
    }
  }
  CHECK(erf(tensor({1, 0}).astype(kInt64)).dtype() == kFloat32);
  CHECK(gelu(tensor({1, 0}).astype(kInt64)).dtype() == kFloat32);
}

TEST_CASE("erf and gelu match math.erf on every device", "[optable][erf]") {
  Device dev = GENERATE(from_range(test_devices()));
  INFO(dev.str());
  for (DType dt : {kFloat64, kFloat32}) {
    double tol = dt == kFloat64 ? 1e-13 : 2e-6;
    Tensor x = from_vector(kXs).astype(dt).to(dev);
    CHECK_THAT(erf(x).cpu(), tftest::Values(kErf, tol));
    CHECK_THAT(gelu(x).cpu(), tftest::Values(kGelu, tol));
    CHECK_THAT(gelu(x, "tanh").cpu(), tftest::Values(kGeluTanh, tol));
    CHECK_THAT(nn::activations::erf(x).cpu(), tftest::Values(kErf, tol));
    CHECK_THAT(nn::activations::gelu(x, true).cpu(), tftest::Values(kGeluTanh, tol));
    CHECK_THAT(nn::get_activation("gelu")(x).cpu(), tftest::Values(kGelu, tol));
    // d erf / dx = 2/sqrt(pi) exp(-x^2): fused kernel and the recorded (create_graph) path.
    Tensor xg = x.detach().requires_grad_();
    sum(erf(xg)).backward();
    CHECK_THAT(xg.grad().cpu(), tftest::Values(kErfGrad, tol));
    Tensor xc = x.detach().requires_grad_();
    auto g = grad({sum(erf(xc))}, {xc}, {}, false, /*create_graph=*/true);
    CHECK_THAT(g[0].cpu(), tftest::Values(kErfGrad, tol));
  }
  CHECK_THROWS_WITH(gelu(Tensor(), "tanh"), Contains("gelu"));
  CHECK_THROWS_WITH(erf(Tensor()), Contains("erf"));
  CHECK_THROWS_WITH(gelu(tensor({1.0}), "fast"), Contains("gelu") && Contains("fast") && Contains("tanh"));
}

TEST_CASE("a mask derivative (relu) passes 0, not NaN, for a non-finite gradient", "[optable]") {
  // PyTorch: relu(x).backward(g) gives g where x > 0 and 0 elsewhere, whatever g holds.
  for (bool create_graph : {false, true}) {
    Tensor x = tensor({-1.0f, 0.0f, 2.0f}).requires_grad_();
    Tensor g = tensor({INFINITY, NAN, 3.0f});
    Tensor gx = grad({relu(x)}, {x}, {g}, false, create_graph)[0];
    std::vector<float> v = gx.to_vector<float>();
    CHECK(v[0] == 0.0f);
    CHECK(v[1] == 0.0f);
    CHECK(v[2] == 3.0f);
  }
}

TEST_CASE("gradcheck: every op with a table derivative, first and second order", "[optable][gradcheck]") {
  using U = Tensor (*)(const Tensor&);
  struct Case { UnaryOp op; U fn; };
  const Case cases[] = {
      {UnaryOp::Tanh, tapeflow::tanh},
      {UnaryOp::Sigmoid, tapeflow::sigmoid},
      {UnaryOp::Relu, tapeflow::relu},
      {UnaryOp::Erf, tapeflow::erf},
      {UnaryOp::Gelu, [](const Tensor& x) { return gelu(x); }},
      {UnaryOp::GeluTanh, [](const Tensor& x) { return gelu(x, "tanh"); }},
  };
  // A new table line with a derivative must be added here.
  int with_grad = 0;
  for (int i = 0; i < int(UnaryOp::Count); ++i)
    with_grad += backend::grad_of(UnaryOp(i)) != backend::GradOf::NoGrad;
  REQUIRE(with_grad == int(sizeof(cases) / sizeof(cases[0])));
  manual_seed(7);
  Tensor x = randn({4, 5}, Options(kFloat64)) * 1.5 + 0.013;
  for (const Case& c : cases) {
    INFO(backend::op_name(c.op));
    U fn = c.fn;
    auto r = autograd::gradcheck([fn](const std::vector<Tensor>& v) { return fn(v[0]); }, {x}, 1e-6, 1e-6, 1e-4);
    INFO(r.message);
    CHECK(r.ok);
    if (c.op == UnaryOp::Relu) continue;  // second derivative 0 almost everywhere
    // Second order: the gradient itself (recorded through the table's derivative) is checked.
    auto r2 = autograd::gradcheck([fn](const std::vector<Tensor>& v) {
      GradModeGuard on(true);  // gradcheck's numeric pass runs under no_grad
      return grad({sum(fn(v[0]))}, {v[0]}, {}, true, true)[0];
    }, {x}, 1e-6, 1e-6, 1e-4);
    INFO(r2.message);
    CHECK(r2.ok);
  }
}
