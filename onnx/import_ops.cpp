// ONNX import: each supported op run with tapeflow ops (so autograd records it and an imported
// model can be fine-tuned). Defaults and opset differences follow the ONNX operator docs for
// opsets 11 to 17.
#include <algorithm>
#include <cmath>
#include <functional>

#include "nn/activations.h"
#include "onnx/graph.h"
#include "onnx/proto.h"
#include "tensor/creation.h"
#include "base/error.h"
#include "tensor/ops.h"

namespace tapeflow::onnx {

namespace detail {
namespace {

using Ins = std::vector<Tensor>;
using Outs = std::vector<Tensor>;
using Fn = std::function<Outs(const OpNode&, const Ins&, int64_t)>;
namespace act = nn::activations;

const Tensor& arg(const OpNode& n, const Ins& in, size_t i) {
  if (i >= in.size() || !in[i].defined()) fail("input ", i, " is missing");
  (void)n;
  return in[i];
}

std::vector<int64_t> ints_of(const Tensor& t) { return t.astype(kInt64).contiguous().to_vector<int64_t>(); }

int norm_axis(int64_t a, int64_t rank) {
  if (a < -rank || a >= rank) fail("axis ", a, " is out of range for rank ", rank);
  return (int)(a < 0 ? a + rank : a);
}

// The axes of a Squeeze/Unsqueeze/Reduce*: the input `idx` from `from_opset` on, else the attribute.
bool axes_of(const OpNode& n, const Ins& in, size_t idx, int64_t opset, int64_t from_opset, std::vector<int64_t>& axes) {
  if (opset >= from_opset) {
    if (idx < in.size() && in[idx].defined()) { axes = ints_of(in[idx]); return true; }
    return false;
  }
  if (auto* a = n.getints("axes")) { axes = *a; return true; }
  return false;
}

Outs reduce(const OpNode& n, const Ins& in, int64_t opset, const char* which) {
  const Tensor& x = arg(n, in, 0);
  std::vector<int64_t> axes;
  bool have = axes_of(n, in, 1, opset, std::string(which) == "sum" ? 13 : 18, axes);
  bool keep = n.geti("keepdims", 1) != 0;
  if ((!have || axes.empty()) && n.geti("noop_with_empty_axes", 0)) return {x};
  std::vector<int> ax;
  for (int64_t a : axes) ax.push_back(norm_axis(a, x.dim()));
  Axes A = have && !axes.empty() ? Axes(ax) : Axes();
  std::string w = which;
  if (w == "sum") return {sum(x, A, keep)};
  if (w == "mean") return {mean(x, A, keep)};
  if (w == "max") return {max(x, A, keep)};
  if (w == "min") return {min(x, A, keep)};
  return {prod(x, A, keep)};
}

// Softmax / LogSoftmax: opset 13 works on one axis (default -1); before, on the flattened
// trailing dims from `axis` (default 1).
Outs softmax_like(const OpNode& n, const Ins& in, int64_t opset, bool log) {
  const Tensor& x = arg(n, in, 0);
  if (opset >= 13) {
    int a = norm_axis(n.geti("axis", -1), x.dim());
    return {log ? log_softmax(x, a) : softmax(x, a)};
  }
  int a = norm_axis(n.geti("axis", 1), x.dim());
  int64_t outer = 1;
  for (int i = 0; i < a; ++i) outer *= x.size(i);
  Tensor x2 = x.reshape({outer, -1});
  Tensor y = log ? log_softmax(x2, 1) : softmax(x2, 1);
  return {y.reshape(x.shape())};
}

Tensor constant_value(const OpNode& n) {
  if (n.has("value")) return n.attrs.at("value").t;
  if (n.has("value_float")) return scalar_tensor(n.getf("value_float", 0), kFloat32);
  if (n.has("value_int")) return scalar_tensor(n.geti("value_int", 0), kInt64);
  if (n.has("value_floats")) {
    std::vector<float> v(n.attrs.at("value_floats").floats.begin(), n.attrs.at("value_floats").floats.end());
    return from_vector(v);
  }
  if (n.has("value_ints")) return from_vector(*n.getints("value_ints"));
  fail("Constant without a value, value_float(s) or value_int(s) attribute");
}

Tensor binary_fold(const Ins& in, Tensor (*f)(const Tensor&, const Tensor&)) {
  if (in.empty()) fail("needs at least one input");
  Tensor acc = in[0];
  for (size_t i = 1; i < in.size(); ++i) acc = f(acc, in[i]);
  return acc;
}

#define UNARY(FN) [](const OpNode& n, const Ins& in, int64_t) -> Outs { return {FN(arg(n, in, 0))}; }
#define BINARY(FN) [](const OpNode& n, const Ins& in, int64_t) -> Outs { return {FN(arg(n, in, 0), arg(n, in, 1))}; }

const std::map<std::string, Fn>& table() {
  static const std::map<std::string, Fn> t = {
      {"Identity", UNARY([](const Tensor& x) { return x; })},
      {"Dropout", [](const OpNode& n, const Ins& in, int64_t) -> Outs {  // inference: the identity
         const Tensor& x = arg(n, in, 0);
         return {x, full(x.shape(), true, Options(kBool))};
       }},
      {"Add", BINARY(add)}, {"Sub", BINARY(sub)}, {"Mul", BINARY(mul)}, {"Pow", BINARY(pow)},
      {"Div", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         const Tensor &a = arg(n, in, 0), &b = arg(n, in, 1);
         Tensor q = div(a, b);  // integer division truncates, as ONNX's
         return {is_floating(a.dtype()) ? q : q.astype(promote_types(a.dtype(), b.dtype()))};
       }},
      {"Max", [](const OpNode&, const Ins& in, int64_t) -> Outs { return {binary_fold(in, maximum)}; }},
      {"Min", [](const OpNode&, const Ins& in, int64_t) -> Outs { return {binary_fold(in, minimum)}; }},
      {"Sum", [](const OpNode&, const Ins& in, int64_t) -> Outs { return {binary_fold(in, add)}; }},
      {"Mean", [](const OpNode&, const Ins& in, int64_t) -> Outs { return {binary_fold(in, add) / (double)in.size()}; }},
      {"Equal", BINARY(eq)}, {"Less", BINARY(lt)}, {"LessOrEqual", BINARY(le)},
      {"Greater", BINARY(gt)}, {"GreaterOrEqual", BINARY(ge)},
      {"And", BINARY(logical_and)}, {"Or", BINARY(logical_or)}, {"Not", UNARY(logical_not)},
      {"Where", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         return {where(arg(n, in, 0), arg(n, in, 1), arg(n, in, 2))};
       }},
      {"Relu", UNARY(relu)}, {"Tanh", UNARY(tanh)}, {"Sigmoid", UNARY(sigmoid)},
      {"Exp", UNARY(exp)}, {"Log", UNARY(log)}, {"Sqrt", UNARY(sqrt)}, {"Neg", UNARY(neg)},
      {"Abs", UNARY(abs)}, {"Reciprocal", UNARY(reciprocal)}, {"Floor", UNARY(floor)},
      {"Ceil", UNARY(ceil)}, {"Round", UNARY(round)}, {"Sign", UNARY(sign)}, {"Sin", UNARY(sin)},
      {"Cos", UNARY(cos)}, {"Erf", UNARY(act::erf)},
      {"Softplus", UNARY(act::softplus)}, {"Softsign", UNARY(act::softsign)},
      {"Softmax", [](const OpNode& n, const Ins& in, int64_t o) { return softmax_like(n, in, o, false); }},
      {"LogSoftmax", [](const OpNode& n, const Ins& in, int64_t o) { return softmax_like(n, in, o, true); }},
      {"Elu", [](const OpNode& n, const Ins& in, int64_t) -> Outs { return {act::elu(arg(n, in, 0), n.getf("alpha", 1.0))}; }},
      {"LeakyRelu", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         return {act::leaky_relu(arg(n, in, 0), n.getf("alpha", 0.01))};
       }},
      {"Selu", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         return {act::elu(arg(n, in, 0), n.getf("alpha", 1.67326319217681884765625)) *
                 n.getf("gamma", 1.05070102214813232421875)};
       }},
      {"HardSigmoid", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         return {clamp(arg(n, in, 0) * n.getf("alpha", 0.2) + n.getf("beta", 0.5), 0.0, 1.0)};
       }},
      {"Clip", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         double lo = in.size() > 1 && in[1].defined() ? in[1].item<double>() : -INFINITY;
         double hi = in.size() > 2 && in[2].defined() ? in[2].item<double>() : INFINITY;
         return {clamp(arg(n, in, 0), lo, hi)};
       }},
      {"Cast", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         return {arg(n, in, 0).astype(tapeflow_dtype((int)n.geti("to", 0), "Cast's 'to'"))};
       }},
      {"Constant", [](const OpNode& n, const Ins&, int64_t) -> Outs { return {constant_value(n)}; }},
      {"MatMul", BINARY(matmul)},
      {"Gemm", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         Tensor a = arg(n, in, 0), b = arg(n, in, 1);
         if (a.dim() != 2 || b.dim() != 2) fail("Gemm needs 2-D A and B, got ", a.shape(), " and ", b.shape());
         if (n.geti("transA", 0)) a = a.transpose(0, 1);
         if (n.geti("transB", 0)) b = b.transpose(0, 1);
         double alpha = n.getf("alpha", 1.0), beta = n.getf("beta", 1.0);
         bool has_c = in.size() > 2 && in[2].defined();
         if (has_c && alpha == 1.0 && beta == 1.0) return {addmm(in[2], a, b)};
         Tensor y = matmul(a, b);
         if (alpha != 1.0) y = y * alpha;
         if (has_c) y = y + (beta == 1.0 ? in[2] : in[2] * beta);
         return {y};
       }},
      {"Reshape", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         const Tensor& x = arg(n, in, 0);
         std::vector<int64_t> s = ints_of(arg(n, in, 1));
         Shape shape;
         for (size_t i = 0; i < s.size(); ++i) {
           if (s[i] == 0 && !n.geti("allowzero", 0)) {
             if ((int64_t)i >= x.dim()) fail("shape entry ", i, " is 0 (copy) but the input has rank ", x.dim());
             shape.push_back(x.size(i));
           } else {
             shape.push_back(s[i]);
           }
         }
         return {x.reshape(shape)};
       }},
      {"Flatten", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         const Tensor& x = arg(n, in, 0);
         int64_t a = n.geti("axis", 1);
         if (a < -x.dim() || a > x.dim()) fail("axis ", a, " is out of range for rank ", x.dim());
         if (a < 0) a += x.dim();
         int64_t outer = 1, inner = 1;
         for (int i = 0; i < x.dim(); ++i) (i < a ? outer : inner) *= x.size(i);
         return {x.reshape({outer, inner})};
       }},
      {"Transpose", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         const Tensor& x = arg(n, in, 0);
         std::vector<int> p;
         if (auto* perm = n.getints("perm")) for (int64_t d : *perm) p.push_back((int)d);
         else for (int i = x.dim() - 1; i >= 0; --i) p.push_back(i);
         return {x.permute(p)};
       }},
      {"Concat", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         if (!n.has("axis")) fail("the 'axis' attribute is required");
         return {concat(in, (int)n.geti("axis", 0))};
       }},
      {"Squeeze", [](const OpNode& n, const Ins& in, int64_t o) -> Outs {
         Tensor x = arg(n, in, 0);
         std::vector<int64_t> axes;
         if (!axes_of(n, in, 1, o, 13, axes)) {
           Shape s;
           for (int64_t d : x.shape()) if (d != 1) s.push_back(d);
           return {x.reshape(s)};
         }
         std::vector<int> ax;
         for (int64_t a : axes) ax.push_back(norm_axis(a, x.dim()));
         std::sort(ax.rbegin(), ax.rend());
         for (int a : ax) {
           if (x.size(a) != 1) fail("cannot squeeze axis ", a, " of size ", x.size(a));
           x = x.squeeze(a);
         }
         return {x};
       }},
      {"Unsqueeze", [](const OpNode& n, const Ins& in, int64_t o) -> Outs {
         Tensor x = arg(n, in, 0);
         std::vector<int64_t> axes;
         if (!axes_of(n, in, 1, o, 13, axes)) fail("the axes are required");
         int64_t r = x.dim() + (int64_t)axes.size();
         std::vector<int> ax;
         for (int64_t a : axes) ax.push_back(norm_axis(a, r));
         std::sort(ax.begin(), ax.end());
         for (int a : ax) x = x.unsqueeze(a);
         return {x};
       }},
      {"ReduceSum", [](const OpNode& n, const Ins& in, int64_t o) { return reduce(n, in, o, "sum"); }},
      {"ReduceMean", [](const OpNode& n, const Ins& in, int64_t o) { return reduce(n, in, o, "mean"); }},
      {"ReduceMax", [](const OpNode& n, const Ins& in, int64_t o) { return reduce(n, in, o, "max"); }},
      {"ReduceMin", [](const OpNode& n, const Ins& in, int64_t o) { return reduce(n, in, o, "min"); }},
      {"ReduceProd", [](const OpNode& n, const Ins& in, int64_t o) { return reduce(n, in, o, "prod"); }},
      {"Shape", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         const Tensor& x = arg(n, in, 0);
         int64_t r = x.dim(), s = n.geti("start", 0), e = n.geti("end", r);
         s = std::clamp<int64_t>(s < 0 ? s + r : s, 0, r);
         e = std::clamp<int64_t>(e < 0 ? e + r : e, 0, r);
         std::vector<int64_t> v;
         for (int64_t i = s; i < e; ++i) v.push_back(x.size((int)i));
         return {from_vector(v)};
       }},
      {"Gather", [](const OpNode& n, const Ins& in, int64_t) -> Outs {
         const Tensor &x = arg(n, in, 0), &idx = arg(n, in, 1);
         if (!is_integral(idx.dtype())) fail("indices must be integers, got ", idx.dtype());
         int a = norm_axis(n.geti("axis", 0), x.dim());
         std::vector<int64_t> v = ints_of(idx);
         for (int64_t& i : v) {
           if (i < -x.size(a) || i >= x.size(a)) fail("index ", i, " is out of range for axis ", a, " of size ", x.size(a));
           if (i < 0) i += x.size(a);
         }
         Tensor g = index_select(x, a, from_vector(v));
         Shape s;
         for (int i = 0; i < a; ++i) s.push_back(x.size(i));
         for (int64_t d : idx.shape()) s.push_back(d);
         for (int i = a + 1; i < x.dim(); ++i) s.push_back(x.size(i));
         return {g.reshape(s)};
       }},
  };
  return t;
}

#undef UNARY
#undef BINARY

}  // namespace

bool is_supported(const std::string& op) {
  return table().count(op) != 0 || is_seq_supported(op) || conv_supports(op);
}

std::vector<Tensor> run_node(const OpNode& n, const std::vector<Tensor>& in, int64_t opset) {
  if (is_seq_supported(n.op)) return run_seq_node(n, in);  // import_seq.cpp
  if (conv_supports(n.op)) return run_conv_node(n, in, opset);  // import_conv.cpp
  return table().at(n.op)(n, in, opset);
}

}  // namespace detail

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v;
    for (const auto& [name, fn] : detail::table()) v.push_back(name);
    detail::add_seq_ops(v);
    for (const auto& name : detail::conv_op_names()) v.push_back(name);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }();
  return ops;
}

}  // namespace tapeflow::onnx
