// ONNX export: one traced tapeflow op -> ONNX nodes (opset 13 to 17), with the batch dim tracked
// through each op so that reshapes keep it symbolic.
#include <cmath>

#include "onnx/exporter.h"
#include "base/error.h"

namespace tapeflow::onnx::detail {

using autograd::TraceOp;

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// The batch dim of a broadcast result of rank r from the op's inputs.
int broadcast_batch(Exporter& ex, const TraceOp& op, int r) {
  for (const Tensor& t : op.inputs)
    if (int b = ex.batch_dim(t); b >= 0) return r - t.dim() + b;
  return -1;
}

// Element-wise ops of one input: ONNX op types, or a short composite.
std::string unary(Exporter& ex, const TraceOp& op, const std::string& u) {
  const Tensor& x = op.inputs[0];
  const Tensor& y = op.output;
  double alpha = op.attr("alpha")->f, beta = op.attr("beta")->f;
  static const std::map<std::string, const char*> simple = {
      {"neg", "Neg"},     {"abs", "Abs"},         {"sign", "Sign"},   {"exp", "Exp"},
      {"log", "Log"},     {"sqrt", "Sqrt"},       {"reciprocal", "Reciprocal"},
      {"sin", "Sin"},     {"cos", "Cos"},         {"tanh", "Tanh"},   {"sigmoid", "Sigmoid"},
      {"relu", "Relu"},   {"floor", "Floor"},     {"ceil", "Ceil"},   {"round", "Round"},
      {"isnan", "IsNaN"}, {"isinf", "IsInf"}, {"erf", "Erf"}};
  if (u == "logical_not") return ex.out(ex.node("Not", {ex.in(x, kBool)}));
  if (u == "isnan" || u == "isinf") return ex.out(ex.node(simple.at(u), {ex.in(x)}));
  DType dt = y.dtype();
  std::string xi = ex.in(x, dt);
  if (auto it = simple.find(u); it != simple.end()) return ex.out(ex.node(it->second, {xi}));
  if (u == "log1p") return ex.out(ex.node("Log", {ex.out(ex.node("Add", {xi, ex.scalar(1, dt)}))}));
  if (u == "expm1") return ex.out(ex.node("Sub", {ex.out(ex.node("Exp", {xi})), ex.scalar(1, dt)}));
  if (u == "rsqrt") return ex.out(ex.node("Reciprocal", {ex.out(ex.node("Sqrt", {xi}))}));
  if (u == "square") return ex.out(ex.node("Mul", {xi, xi}));
  if (u == "pow") return ex.out(ex.node("Pow", {xi, ex.scalar(alpha, dt)}));
  if (u == "affine")
    return ex.out(ex.node("Add", {ex.out(ex.node("Mul", {xi, ex.scalar(alpha, dt)})), ex.scalar(beta, dt)}));
  if (u == "clamp")
    return ex.out(ex.node("Clip", {xi, std::isinf(alpha) ? "" : ex.scalar(alpha, dt),
                                   std::isinf(beta) ? "" : ex.scalar(beta, dt)}));
  auto mul = [&](const std::string& a, const std::string& b) { return ex.out(ex.node("Mul", {a, b})); };
  auto add = [&](const std::string& a, const std::string& b) { return ex.out(ex.node("Add", {a, b})); };
  if (u == "gelu") {  // opset 17 has no Gelu: 0.5 x (1 + erf(x / sqrt 2))
    std::string e = ex.out(ex.node("Erf", {mul(xi, ex.scalar(0.7071067811865476, dt))}));
    return mul(mul(xi, ex.scalar(0.5, dt)), add(e, ex.scalar(1, dt)));
  }
  if (u == "gelu_tanh") {  // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    std::string cube = mul(mul(xi, xi), xi);
    std::string inner = mul(add(xi, mul(cube, ex.scalar(0.044715, dt))), ex.scalar(0.7978845608028654, dt));
    std::string t = ex.out(ex.node("Tanh", {inner}));
    return mul(mul(xi, ex.scalar(0.5, dt)), add(t, ex.scalar(1, dt)));
  }
  ex.unsupported(op, "no ONNX form for this element-wise op");
}

std::string binary(Exporter& ex, const TraceOp& op, const std::string& b) {
  DType ct = (DType)op.attr("dtype")->ints.at(0);
  static const std::map<std::string, const char*> simple = {
      {"add", "Add"},     {"sub", "Sub"},          {"mul", "Mul"},         {"div", "Div"},
      {"maximum", "Max"}, {"minimum", "Min"},      {"pow", "Pow"},         {"eq", "Equal"},
      {"lt", "Less"},     {"le", "LessOrEqual"},   {"gt", "Greater"},      {"ge", "GreaterOrEqual"},
      {"ne", "Equal"},    {"logical_and", "And"},  {"logical_or", "Or"}};
  auto it = simple.find(b);
  if (it == simple.end()) ex.unsupported(op, "no ONNX form for this binary op");
  DType in_t = (b == "logical_and" || b == "logical_or") ? kBool : ct;
  std::string r = ex.out(ex.node(it->second, {ex.in(op.inputs[0], in_t), ex.in(op.inputs[1], in_t)}));
  return b == "ne" ? ex.out(ex.node("Not", {r})) : r;
}

// Reshape to the output's shape, with -1 where the batch dim went (so any batch size works).
std::string reshape(Exporter& ex, const TraceOp& op, int& out_batch) {
  const Tensor& x = op.inputs[0];
  const Tensor& y = op.output;
  std::vector<int64_t> target(y.shape().begin(), y.shape().end());
  int b = ex.batch_dim(x);
  out_batch = -1;
  if (ex.dynamic() && b >= 0) {
    int64_t prefix = 1;
    for (int i = 0; i < b; ++i) prefix *= x.size(i);
    int64_t p = 1;
    for (int k = 0; k < y.dim(); ++k) {
      if (p == prefix && y.size(k) % ex.batch() == 0 && y.size(k) > 0) { out_batch = k; break; }
      p *= y.size(k);
    }
    if (out_batch < 0)
      ex.unsupported(op, str_cat("the reshape from ", x.shape(), " to ", y.shape(),
                                 " splits the batch dim ", b, "; export with dynamic_batch = false"));
    target[out_batch] = -1;
  }
  return ex.out(ex.node("Reshape", {ex.in(x), ex.ints(target)}));
}

std::string reduce(Exporter& ex, const TraceOp& op, const std::string& r, int& out_batch) {
  static const std::map<std::string, const char*> types = {
      {"sum", "ReduceSum"}, {"prod", "ReduceProd"}, {"max", "ReduceMax"}, {"min", "ReduceMin"},
      {"mean", "ReduceMean"}};
  auto it = types.find(r);
  if (it == types.end()) ex.unsupported(op, "no ONNX form for this reduction");
  const Tensor& x = op.inputs[0];
  std::vector<int64_t> axes = op.attr("axes")->ints;
  bool keep = op.attr("keepdims")->ints.at(0) != 0;
  std::string xi = ex.in(x, op.output.dtype());
  if (axes.empty()) return ex.out(ex.node("Identity", {xi}));  // a 0-d input
  ::onnx::NodeProto& n = r == "sum" ? ex.node("ReduceSum", {xi, ex.ints(axes)}) : ex.node(it->second, {xi});
  if (r != "sum") attr_ints(n, "axes", axes);
  attr_int(n, "keepdims", keep);
  int b = ex.batch_dim(x);
  out_batch = b;
  for (int64_t a : axes) {
    if (a == b) out_batch = -1;
    if (out_batch >= 0 && !keep && a < b) --out_batch;
  }
  return ex.out(n);
}

// Composite activations reported by nn/activations.cpp (ONNX op types, float attributes).
const std::map<std::string, std::vector<const char*>>& composites() {
  static const std::map<std::string, std::vector<const char*>> c = {
      {"LeakyRelu", {"alpha"}}, {"Elu", {"alpha"}},  {"Selu", {"alpha", "gamma"}},
      {"Softplus", {}},         {"Softsign", {}},    {"HardSigmoid", {"alpha", "beta"}}};
  return c;
}

}  // namespace

void emit(Exporter& ex, const TraceOp& op) {
  const std::string& n = op.op;
  const Tensor& y = op.output;
  DType dt = y.dtype();
  int r = y.dim();
  int out_batch = broadcast_batch(ex, op, r);  // element-wise default
  std::string name;
  if (starts_with(n, "unary.")) {
    name = unary(ex, op, n.substr(6));
  } else if (starts_with(n, "binary.")) {
    name = binary(ex, op, n.substr(7));
  } else if (starts_with(n, "reduce.")) {
    name = reduce(ex, op, n.substr(7), out_batch);
  } else if (n == "where") {
    name = ex.out(ex.node("Where", {ex.in(op.inputs[0], kBool), ex.in(op.inputs[1], dt), ex.in(op.inputs[2], dt)}));
  } else if (n == "astype") {
    auto& c = ex.node("Cast", {ex.in(op.inputs[0])});
    attr_int(c, "to", onnx_dtype(dt));
    name = ex.out(c);
  } else if (n == "identity") {
    name = ex.out(ex.node("Identity", {ex.in(op.inputs[0])}));
  } else if (n == "matmul") {
    const Tensor &a = op.inputs[0], &b = op.inputs[1];
    name = ex.out(ex.node("MatMul", {ex.in(a, dt), ex.in(b, dt)}));
    int ba = ex.batch_dim(a), bb = ex.batch_dim(b);
    out_batch = -1;
    if (ba >= 0 && ba < a.dim() - 1) out_batch = r - a.dim() + ba;
    else if (bb >= 0 && bb == b.dim() - 1) out_batch = r - 1;
    else if (bb >= 0 && bb < b.dim() - 2) out_batch = r - b.dim() + bb;
  } else if (n == "addmm") {  // bias + x @ w
    const Tensor &bias = op.inputs[0], &x = op.inputs[1], &w = op.inputs[2];
    name = ex.out(ex.node("Gemm", {ex.in(x, dt), ex.in(w, dt), ex.in(bias, dt)}));
    out_batch = ex.batch_dim(x) == 0 ? 0 : (ex.batch_dim(w) == 1 ? 1 : -1);
  } else if (n == "reshape") {
    name = reshape(ex, op, out_batch);
  } else if (n == "permute") {
    const auto& perm = op.attr("perm")->ints;
    auto& t = ex.node("Transpose", {ex.in(op.inputs[0])});
    attr_ints(t, "perm", perm);
    name = ex.out(t);
    int b = ex.batch_dim(op.inputs[0]);
    out_batch = -1;
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] == b) out_batch = (int)i;
  } else if (n == "concat") {
    std::vector<std::string> ins;
    for (const Tensor& t : op.inputs) ins.push_back(ex.in(t, dt));
    auto& c = ex.node("Concat", ins);
    int64_t axis = op.attr("axis")->ints.at(0);
    attr_int(c, "axis", axis);
    name = ex.out(c);
    if (out_batch == axis) out_batch = -1;  // joined along the batch dim
  } else if (n == "softmax" || n == "log_softmax") {
    auto& s = ex.node(n == "softmax" ? "Softmax" : "LogSoftmax", {ex.in(op.inputs[0])});
    attr_int(s, "axis", op.attr("axis")->ints.at(0));
    name = ex.out(s);
  } else if (auto c = composites().find(n); c != composites().end()) {
    auto& s = ex.node(n, {ex.in(op.inputs[0], dt)});
    for (const char* a : c->second) attr_float(s, a, op.attr(a)->f);
    name = ex.out(s);
  } else if (emit_seq(ex, op, name, out_batch)) {  // export_seq.cpp
  } else if (emit_conv(ex, op, name, out_batch)) {
  } else {
    ex.unsupported(op, "the exporter has no ONNX form for it");
  }
  ex.bind(y, name, out_batch);
}

}  // namespace tapeflow::onnx::detail
