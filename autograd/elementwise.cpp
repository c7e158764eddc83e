// Differentiable element-wise ops: each forward, then its derivative right below it.
// Backward closures use public ops, so create_graph records them too; when no graph is being
// built they use the fused *Grad kernels.
#include <cmath>
#include <string>

#include <algorithm>

#include "autograd/elementwise_forward.h"
#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::save;
using autograd::save_output;
using autograd::should_record;
using backend::BinaryOp;
using backend::UnaryOp;
using detail::binary_raw;
using detail::unary_raw;

// g * d, or where(d, g, 0) for a bool derivative (a mask), as the fused kernels do.
static Tensor apply_derivative(const Tensor& g, const Tensor& d) {
  return d.dtype() == kBool ? where(d, g, zeros_like(g)) : g * d;
}

// g * d op(v) / dx with the derivative of op's table line (v = x or y as its Grad column says).
static Tensor table_backward(UnaryOp op, const Tensor& g, const Tensor& x, const Tensor& y) {
  const Tensor& v = backend::grad_of(op) == backend::GradOf::GradX ? x : y;
  if (!is_grad_enabled()) return binary_raw(backend::grad_op(op), backend::op_name(backend::grad_op(op)), g, v);
  switch (op) {
#define TF_TENSOR_DERIV_NoGrad(E)
#define TF_TENSOR_DERIV_GradX(E) case UnaryOp::E: return apply_derivative(g, backend::derivative::E(v));
#define TF_TENSOR_DERIV_GradY(E) TF_TENSOR_DERIV_GradX(E)
#define TF_TENSOR_DERIV(E, N, K, G, ...) TF_TENSOR_DERIV_##G(E)
    TAPEFLOW_UNARY_OPS(TF_TENSOR_DERIV)
#undef TF_TENSOR_DERIV
    default: fail(backend::op_name(op), ": no derivative in the op table");
  }
}

// Defines a unary op whose backward maps (g, x, y) to the input gradient.
#define TF_UNARY(FN, OP, NAME, GRAD_EXPR)                                                 \
  Tensor FN(const Tensor& x) {                                                           \
    Tensor y = unary_raw(UnaryOp::OP, x);                                                 \
    if (should_record({&x}))                                                              \
      record(NAME, {&x}, y, [sx = save(x), sy = save_output(y)](Node& n, Grads& gs) -> Grads { \
        const Tensor& g = gs[0];                                                          \
        Tensor x = sx.unpack(n), y = sy.unpack(n);                                        \
        (void)x; (void)y;                                                                 \
        return {GRAD_EXPR};                                                               \
      });                                                                                 \
    return y;                                                                             \
  }

TF_UNARY(neg, Neg, "NegBackward", -g)                                   // d(-x) = -1
TF_UNARY(abs, Abs, "AbsBackward", g * sign(x))                          // d|x| = sign(x)
TF_UNARY(sign, Sign, "SignBackward", zeros_like(g))                     // d sign(x) = 0
TF_UNARY(exp, Exp, "ExpBackward", g * y)                                // d exp(x) = exp(x)
TF_UNARY(log, Log, "LogBackward", g / x)                                // d log(x) = 1/x
TF_UNARY(log1p, Log1p, "Log1pBackward", g / (x + 1))                    // d log(1+x) = 1/(1+x)
TF_UNARY(expm1, Expm1, "Expm1Backward", g * (y + 1))                    // d (e^x - 1) = e^x
TF_UNARY(sqrt, Sqrt, "SqrtBackward", g * 0.5 / y)                       // d sqrt(x) = 1/(2 sqrt(x))
TF_UNARY(rsqrt, Rsqrt, "RsqrtBackward", g * -0.5 * y * y * y)           // d x^-1/2 = -x^-3/2 / 2
TF_UNARY(square, Square, "SquareBackward", g * 2 * x)                   // d x^2 = 2x
TF_UNARY(reciprocal, Reciprocal, "ReciprocalBackward", -g * y * y)      // d 1/x = -1/x^2
TF_UNARY(sin, Sin, "SinBackward", g * cos(x))                           // d sin = cos
TF_UNARY(cos, Cos, "CosBackward", -g * sin(x))                          // d cos = -sin
TF_UNARY(floor, Floor, "FloorBackward", zeros_like(g))                  // piecewise constant
TF_UNARY(ceil, Ceil, "CeilBackward", zeros_like(g))
TF_UNARY(round, Round, "RoundBackward", zeros_like(g))
// Ops whose derivative is stated once, in their line of backends/op_table.h: evaluated on
// Tensors while recording (create_graph), else by the fused <Op>Grad kernel.
#define TF_UNARY_TABLE_GRAD(FN, OP) \
  TF_UNARY(FN, OP, #OP "Backward", table_backward(UnaryOp::OP, g, x, y))
TF_UNARY_TABLE_GRAD(tanh, Tanh)
TF_UNARY_TABLE_GRAD(sigmoid, Sigmoid)
TF_UNARY_TABLE_GRAD(relu, Relu)
TF_UNARY_TABLE_GRAD(erf, Erf)
namespace {  // the two forms of gelu()
TF_UNARY_TABLE_GRAD(gelu_exact, Gelu)
TF_UNARY_TABLE_GRAD(gelu_tanh, GeluTanh)
}  // namespace
#undef TF_UNARY_TABLE_GRAD
#undef TF_UNARY

Tensor logical_not(const Tensor& x) { return unary_raw(UnaryOp::LogicalNot, x); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  detail::check_defined("gelu", x);
  if (approximate == "none") return gelu_exact(x);
  if (approximate == "tanh") return gelu_tanh(x);
  fail("gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
}

// d clamp(x, lo, hi) = 1 where lo <= x <= hi
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi) {
  detail::check_defined("clamp", x);
  if (lo.to_double() > hi.to_double())
    fail("clamp: min (", lo.to_double(), ") must not exceed max (", hi.to_double(), ")");
  Tensor y = unary_raw(UnaryOp::Clamp, x, lo.to_double(), hi.to_double());
  if (should_record({&x}))
    record("ClampBackward", {&x}, y, [sx = save(x), lo, hi](Node& n, Grads& gs) -> Grads {
      Tensor x = sx.unpack(n);
      Tensor mask = logical_and(ge(x, wrap(lo)), le(x, wrap(hi)));
      return {gs[0] * mask.astype(gs[0].dtype())};
    });
  return y;
}
Tensor clamp_min(const Tensor& x, Scalar lo) { return clamp(x, lo, INFINITY); }
Tensor clamp_max(const Tensor& x, Scalar hi) { return clamp(x, -INFINITY, hi); }

// d x^e = e x^(e-1)
Tensor pow(const Tensor& x, Scalar e) {
  detail::check_defined("pow", x);
  if (!is_floating(x.dtype())) return pow(x, wrap(e));
  Tensor y = unary_raw(UnaryOp::PowScalar, x, e.to_double());
  if (should_record({&x}))
    record("PowBackward", {&x}, y, [sx = save(x), e](Node& n, Grads& gs) -> Grads {
      double ev = e.to_double();
      if (ev == 0) return {zeros_like(gs[0])};
      return {gs[0] * ev * pow(sx.unpack(n), ev - 1)};
    });
  return y;
}

// ---- binary ----

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(BinaryOp::Add, "add", a, b);
  if (should_record({&a, &b}))  // d(a+b) = (1, 1); the engine sums broadcast dims away
    record("AddBackward", {&a, &b}, y, [](Node&, Grads& gs) -> Grads { return {gs[0], gs[0]}; });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(BinaryOp::Sub, "sub", a, b);
  if (should_record({&a, &b}))  // d(a-b) = (1, -1)
    record("SubBackward", {&a, &b}, y, [](Node& n, Grads& gs) -> Grads {
      return {gs[0], autograd::needs_input_grad(n, 1) ? -gs[0] : Tensor()};
    });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(BinaryOp::Mul, "mul", a, b);
  if (should_record({&a, &b}))  // d(ab) = (b, a)
    record("MulBackward", {&a, &b}, y, [sa = save(a), sb = save(b)](Node& n, Grads& gs) -> Grads {
      Tensor ga, gb;
      if (autograd::needs_input_grad(n, 0)) ga = gs[0] * sb.unpack(n);
      if (autograd::needs_input_grad(n, 1)) gb = gs[0] * sa.unpack(n);
      return {ga, gb};
    });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(BinaryOp::Div, "div", a, b);
  if (should_record({&a, &b}))  // d(a/b) = (1/b, -a/b^2)
    record("DivBackward", {&a, &b}, y, [sa = save(a), sb = save(b)](Node& n, Grads& gs) -> Grads {
      Tensor b = sb.unpack(n), ga, gb;
      if (autograd::needs_input_grad(n, 0)) ga = gs[0] / b;
      if (autograd::needs_input_grad(n, 1)) gb = -gs[0] * sa.unpack(n) / (b * b);
      return {ga, gb};
    });
  return y;
}

// Ties split the gradient evenly between both sides.
static Tensor extremum(BinaryOp op, const char* name, const char* node, const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(op, name, a, b);
  if (should_record({&a, &b}))
    record(node, {&a, &b}, y, [sa = save(a), sb = save(b), op](Node& n, Grads& gs) -> Grads {
      Tensor a = sa.unpack(n), b = sb.unpack(n);
      DType dt = gs[0].dtype();
      Tensor win = (op == BinaryOp::Maximum ? gt(a, b) : lt(a, b)).astype(dt);
      Tensor tie = eq(a, b).astype(dt) * 0.5;
      Tensor wa = win + tie;
      return {gs[0] * wa, gs[0] * (1 - wa)};
    });
  return y;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Maximum, "maximum", "MaximumBackward", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Minimum, "minimum", "MinimumBackward", a, b); }

// d a^b = (b a^(b-1), a^b log a); the log term is 0 where a == 0 (as PyTorch).
Tensor pow(const Tensor& a, const Tensor& b) {
  detail::check_defined("pow", a);
  detail::check_defined("pow", b);
  if (!is_floating(detail::result_type(a, b)) && b.dtype() != kBool && b.numel() > 0 &&
      tapeflow::min(b.detach()).item<int64_t>() < 0)
    fail("pow: integers to negative integer powers are not allowed (exponent min ",
         tapeflow::min(b.detach()).item<int64_t>(), ")");
  Tensor y = binary_raw(BinaryOp::Pow, "pow", a, b);
  if (should_record({&a, &b}))
    record("PowBackward", {&a, &b}, y, [sa = save(a), sb = save(b), sy = save_output(y)](Node& n, Grads& gs) -> Grads {
      Tensor a = sa.unpack(n), b = sb.unpack(n), ga, gb;
      if (autograd::needs_input_grad(n, 0)) ga = gs[0] * b * pow(a, b - 1);
      if (autograd::needs_input_grad(n, 1)) {
        Tensor safe_log = where(eq(a, 0), zeros_like(a), log(where(eq(a, 0), ones_like(a), a)));
        gb = gs[0] * sy.unpack(n) * safe_log;
      }
      return {ga, gb};
    });
  return y;
}

Tensor eq(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::Eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::Ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::Lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::Le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::Gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::Ge, "ge", a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::LogicalAnd, "logical_and", a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary_raw(BinaryOp::LogicalOr, "logical_or", a, b); }

// d where(c, a, b) = (c, !c)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_same_device("where", a, b);
  detail::check_same_device("where", cond, a);
  if (cond.dtype() != kBool) fail("where: condition must be a bool tensor, got ", cond.dtype());
  DType ct = detail::result_type(a, b);
  Shape shape = detail::broadcast_or_fail("where", detail::broadcast_or_fail("where", cond.shape(), a.shape()), b.shape());
  Tensor ac = detail::cast_raw(a, ct), bc = detail::cast_raw(b, ct);
  Tensor y = detail::make_tensor(shape, ct, a.device(), "where");
  if (y.numel())
    detail::backend_of(a).where(detail::view_as(cond, shape), detail::view_as(ac, shape),
                                detail::view_as(bc, shape), detail::view_of(y));
  if (should_record({&a, &b}))
    record("WhereBackward", {&a, &b}, y, [c = cond](Node&, Grads& gs) -> Grads {
      Tensor z = zeros_like(gs[0]);
      return {where(c, gs[0], z), where(c, z, gs[0])};
    });
  if (autograd::tracing()) autograd::trace("where", {cond, a, b}, y, {{"dtype", {(int64_t)ct}}});
  return y;
}

namespace {
// A C++ number as a weak 0-d operand on the other operand's device.
Tensor number_beside(Scalar s, const Tensor& other) {
  Tensor t = wrap(s);
  if (other.defined() && other.device() != t.device()) {
    t = t.to(other.device());
    t.impl()->wrapped_number = true;
  }
  return t;
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, Scalar b) {
  detail::check_defined("where", a);
  return where(cond, a, number_beside(b, a));
}
Tensor where(const Tensor& cond, Scalar a, const Tensor& b) {
  detail::check_defined("where", b);
  return where(cond, number_beside(a, b), b);
}
Tensor where(const Tensor& cond, Scalar a, Scalar b) {
  detail::check_defined("where", cond);
  auto kind = [](Scalar s) { return s.kind == Scalar::Kind::Bool ? 0 : s.kind == Scalar::Kind::Int ? 1 : 2; };
  int k = std::max(kind(a), kind(b));
  DType dt = k == 0 ? kBool : k == 1 ? kInt64 : kFloat32;
  return where(cond, scalar_tensor(a, dt, cond.device()), scalar_tensor(b, dt, cond.device()));
}

}  // namespace tapeflow
