// Reductions. sum, prod, max/min and cumsum have their own backward; mean, var, std and
// logsumexp are composites of them (no backward of their own).
#include <cmath>

#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::save;
using autograd::save_output;
using autograd::should_record;
using backend::ReduceOp;
using namespace detail;

namespace {

Shape keep_shape(const Shape& s, uint32_t mask) {
  Shape k = s;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) k[i] = 1;
  return k;
}

Shape drop_shape(const Shape& s, uint32_t mask) {
  Shape k;
  for (int i = 0; i < s.size(); ++i)
    if (!(mask & (1u << i))) k.push_back(s[i]);
  return k;
}

int64_t reduced_count(const Shape& s, uint32_t mask) {
  int64_t n = 1;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) n *= s[i];
  return n;
}

// Reports a reduction over the axes of `mask` to the tracer ("reduce.sum", ...).
void trace_reduce(const char* name, const Tensor& x, const Tensor& y, uint32_t mask, bool keepdims) {
  std::vector<int64_t> axes;
  for (int i = 0; i < x.dim(); ++i)
    if (mask & (1u << i)) axes.push_back(i);
  autograd::trace((std::string("reduce.") + name).c_str(), {x}, y, {{"axes", axes}, {"keepdims", {keepdims}}});
}

Tensor reduce_raw(ReduceOp op, const char* name, const Tensor& x, uint32_t mask, bool keepdims) {
  check_defined(name, x);
  DType dt = x.dtype();
  if (op == ReduceOp::All || op == ReduceOp::Any) dt = kBool;
  else if ((op == ReduceOp::Sum || op == ReduceOp::Prod) && !is_floating(dt)) dt = kInt64;
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && reduced_count(x.shape(), mask) == 0 && x.dim() > 0)
    fail(name, ": cannot reduce over an empty dimension (shape ", x.shape(), ")");
  Tensor x_cast;  // a reference to x otherwise: no Tensor copy (an atomic pair) per reduction
  if ((op == ReduceOp::Sum || op == ReduceOp::Prod) && x.dtype() != dt) x_cast = cast_raw(x, dt);
  const Tensor& in = x_cast.defined() ? x_cast : x;
  Tensor out = make_tensor(keep_shape(x.shape(), mask), dt, x.device(), name);
  if (out.numel()) backend_of(x).reduce(op, view_of(in), mask, view_of(out));
  if (!keepdims) out = make_view_of(out, drop_shape(x.shape(), mask), contiguous_strides(drop_shape(x.shape(), mask)), 0);
  if (autograd::tracing()) trace_reduce(name, x, out, mask, keepdims);
  return out;
}

// The gradient g of a reduction, reshaped so it broadcasts against the input.
Tensor unreduce(const Tensor& g, const Shape& in_shape, uint32_t mask) {
  return g.reshape(keep_shape(in_shape, mask));
}

}  // namespace

// d sum(x) / dx = 1 everywhere (the gradient is broadcast back)
Tensor sum(const Tensor& x, Axes axes, bool keepdims) {
  uint32_t mask = axes_mask("sum", axes, x);
  Tensor y = reduce_raw(ReduceOp::Sum, "sum", x, mask, keepdims);
  if (should_record({&x}))
    record("SumBackward", {&x}, y, [shape = x.shape(), mask](Node&, Grads& gs) -> Grads {
      return {unreduce(gs[0], shape, mask).expand(shape)};
    });
  return y;
}

Tensor mean(const Tensor& x, Axes axes, bool keepdims) {
  uint32_t mask = axes_mask("mean", axes, x);
  int64_t n = reduced_count(x.shape(), mask);
  Tensor xf = is_floating(x.dtype()) ? x : x.astype(kFloat32);
  Tensor y = sum(xf, axes, keepdims) / (double)n;
  if (autograd::tracing()) trace_reduce("mean", xf, y, mask, keepdims);
  return y;
}

// d prod(x) / dx_i = prod of the others; with one zero in the slice only that element gets a
// gradient (the product of the non-zeros), with two or more zeros nothing does.
Tensor prod(const Tensor& x, Axes axes, bool keepdims) {
  uint32_t mask = axes_mask("prod", axes, x);
  Tensor y = reduce_raw(ReduceOp::Prod, "prod", x, mask, keepdims);
  if (should_record({&x}))
    record("ProdBackward", {&x}, y, [sx = save(x), mask](Node& n, Grads& gs) -> Grads {
      Tensor x = sx.unpack(n);
      std::vector<int> ax;
      for (int i = 0; i < x.dim(); ++i)
        if (mask & (1u << i)) ax.push_back(i);
      Axes a = x.dim() ? Axes(ax) : Axes();
      Tensor is_zero = eq(x, 0);
      Tensor zeros_in = sum(is_zero.astype(x.dtype()), a, true);
      Tensor nonzero = where(is_zero, ones_like(x), x);
      Tensor p = prod(nonzero, a, true);
      Tensor none = eq(zeros_in, 0), one = eq(zeros_in, 1);
      Tensor d = where(none, p / nonzero, where(logical_and(one, is_zero), p, zeros_like(x)));
      return {unreduce(gs[0], x.shape(), mask) * d};
    });
  return y;
}

// The gradient goes to the maxima, split evenly between ties.
static Tensor extremum(ReduceOp op, const char* name, const char* node, const Tensor& x, Axes axes, bool keepdims) {
  uint32_t mask = axes_mask(name, axes, x);
  Tensor y = reduce_raw(op, name, x, mask, keepdims);
  if (should_record({&x}))
    record(node, {&x}, y, [sx = save(x), sy = save_output(y), mask](Node& n, Grads& gs) -> Grads {
      Tensor x = sx.unpack(n);
      Tensor yk = unreduce(sy.unpack(n), x.shape(), mask);
      Tensor hit = eq(x, yk).astype(x.dtype());
      std::vector<int> ax;
      for (int i = 0; i < x.dim(); ++i)
        if (mask & (1u << i)) ax.push_back(i);
      Tensor count = x.dim() ? sum(hit, Axes(ax), true) : hit;
      return {unreduce(gs[0], x.shape(), mask) * hit / count};
    });
  return y;
}
Tensor max(const Tensor& x, Axes axes, bool keepdims) { return extremum(ReduceOp::Max, "max", "MaxBackward", x, axes, keepdims); }
Tensor min(const Tensor& x, Axes axes, bool keepdims) { return extremum(ReduceOp::Min, "min", "MinBackward", x, axes, keepdims); }

Tensor all(const Tensor& x, Axes axes, bool keepdims) {
  return reduce_raw(ReduceOp::All, "all", x, axes_mask("all", axes, x), keepdims);
}
Tensor any(const Tensor& x, Axes axes, bool keepdims) {
  return reduce_raw(ReduceOp::Any, "any", x, axes_mask("any", axes, x), keepdims);
}

static Tensor arg_reduce(backend::ArgReduceOp op, const char* name, const Tensor& x, int axis, bool keepdims) {
  check_defined(name, x);
  Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  int d = normalize_dim(name, axis, xx.dim());
  if (xx.shape()[d] == 0) fail(name, ": cannot reduce over an empty dimension (shape ", x.shape(), ")");
  Shape ks = keep_shape(xx.shape(), 1u << d);
  Tensor out = make_tensor(ks, kInt64, x.device());
  if (out.numel()) backend_of(x).arg_reduce(op, view_of(xx), d, view_of(out));
  if (!keepdims || x.dim() == 0) out = out.reshape(x.dim() == 0 ? Shape{} : drop_shape(xx.shape(), 1u << d));
  return out;
}
Tensor argmax(const Tensor& x, int axis, bool keepdims) { return arg_reduce(backend::ArgReduceOp::ArgMax, "argmax", x, axis, keepdims); }
Tensor argmin(const Tensor& x, int axis, bool keepdims) { return arg_reduce(backend::ArgReduceOp::ArgMin, "argmin", x, axis, keepdims); }
Tensor argmax(const Tensor& x) { check_defined("argmax", x); return argmax(x.reshape({-1}), 0); }
Tensor argmin(const Tensor& x) { check_defined("argmin", x); return argmin(x.reshape({-1}), 0); }

// var = sum((x - mean)^2) / (n - correction); a composite. `name` is the op the user called.
static Tensor var_impl(const char* name, const Tensor& x, Axes axes, int64_t correction, bool keepdims) {
  uint32_t mask = axes_mask(name, axes, x);
  int64_t n = reduced_count(x.shape(), mask);
  if (correction < 0) fail(name, ": correction must be non-negative, got ", correction);
  Tensor xf = is_floating(x.dtype()) ? x : x.astype(kFloat32);
  Tensor centred = xf - mean(xf, axes, true);
  double denom = std::max<double>(0.0, (double)(n - correction));
  return sum(centred * centred, axes, keepdims) / denom;
}

Tensor var(const Tensor& x, Axes axes, int64_t correction, bool keepdims) {
  return var_impl("var", x, std::move(axes), correction, keepdims);
}

Tensor std(const Tensor& x, Axes axes, int64_t correction, bool keepdims) {
  return sqrt(var_impl("std", x, std::move(axes), correction, keepdims));
}

// logsumexp = m + log(sum(exp(x - m))) with m the (constant) max; a composite, stable.
// An empty reduction gives -inf (the log of an empty sum), as PyTorch.
Tensor logsumexp(const Tensor& x, Axes axes, bool keepdims) {
  uint32_t mask = axes_mask("logsumexp", axes, x);
  Tensor xf = is_floating(x.dtype()) ? x : x.astype(kFloat32);
  if (reduced_count(x.shape(), mask) == 0) return sum(xf, axes, keepdims) - INFINITY;
  Tensor m = reduce_raw(ReduceOp::Max, "logsumexp", xf.detach(), mask, true);
  m = where(eq(abs(m), INFINITY), zeros_like(m), m);  // all -inf (or inf) rows stay exact
  Tensor r = log(sum(exp(xf - m), axes, true)) + m;
  if (keepdims) return r;
  return r.reshape(drop_shape(x.shape(), mask));
}

// d cumsum(x)_j / dx_i = 1 for j >= i, so the gradient is a reversed cumsum of g.
Tensor cumsum(const Tensor& x, int axis) {
  check_defined("cumsum", x);
  Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  int d = normalize_dim("cumsum", axis, xx.dim());
  DType dt = is_floating(x.dtype()) ? x.dtype() : kInt64;
  Tensor in = cast_raw(xx, dt);
  Tensor y = make_tensor(xx.shape(), dt, x.device());
  if (y.numel()) backend_of(x).cumsum(view_of(in), d, view_of(y));
  if (x.dim() == 0) y = y.reshape({});
  if (should_record({&x}))
    record("CumsumBackward", {&x}, y, [d, scalar = x.dim() == 0](Node&, Grads& gs) -> Grads {
      if (scalar) return {gs[0]};
      const Tensor& g = gs[0];
      return {sum(g, d, true) - cumsum(g, d) + g};
    });
  return y;
}

// Sums x down to `shape` (leading dims and dims of size 1 in shape).
Tensor sum_to(const Tensor& x, const Shape& shape) {
  check_defined("sum_to", x);
  if (x.shape() == shape) return x;
  int lead = x.dim() - shape.size();
  if (lead < 0) fail("sum_to: cannot sum shape ", x.shape(), " to ", shape);
  std::vector<int> axes;
  for (int i = 0; i < lead; ++i) axes.push_back(i);
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1 && x.shape()[lead + i] != 1) axes.push_back(lead + i);
    else if (shape[i] != x.shape()[lead + i]) fail("sum_to: cannot sum shape ", x.shape(), " to ", shape);
  }
  Tensor r = axes.empty() ? x : sum(x, Axes(axes), true);
  return r.reshape(shape);
}

}  // namespace tapeflow
