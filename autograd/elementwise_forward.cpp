// Forward plumbing shared by every element-wise op: dtype promotion, broadcasting, output
// allocation and the backend call. No recording happens here (see elementwise.cpp).
#include "autograd/elementwise_forward.h"

#include "autograd/trace.h"
#include "backends/op_table.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::detail {

using backend::BinaryOp;
using backend::UnaryOp;

Tensor unary_raw(UnaryOp op, const Tensor& x, double alpha, double beta) {
  check_defined(backend::op_name(op), x);
  Tensor in = x;
  if (backend::is_float_only(op) && !is_floating(x.dtype())) in = cast_raw(x, kFloat32);
  if (x.dtype() == kBool && (op == UnaryOp::Neg))
    fail("neg: negation of a bool tensor is not supported; use logical_not");
  DType out_dt = backend::is_bool_output(op) ? kBool : in.dtype();
  Tensor out = make_tensor(in.shape(), out_dt, in.device(), backend::op_name(op));
  if (out.numel()) backend_of(in).unary(op, view_of(in), view_of(out), alpha, beta);
  if (autograd::tracing())
    autograd::trace((std::string("unary.") + backend::op_name(op)).c_str(), {x}, out,
                    {{"alpha", {}, alpha}, {"beta", {}, beta}});
  return out;
}

Shape broadcast_or_fail(const char* op, const Shape& a, const Shape& b) {
  if (a == b) return a;
  int r = std::max(a.size(), b.size());
  Shape out;
  out.resize(r);
  for (int i = 0; i < r; ++i) {
    int ia = a.size() - r + i, ib = b.size() - r + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      fail(op, ": shapes ", a, " and ", b, " cannot be broadcast together (dim ", i, ": ", da,
           " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

static Tensor to_device_of(const Tensor& scalar, const Tensor& other) {
  Tensor t = scalar.to(other.device());
  t.impl()->wrapped_number = true;
  return t;
}

Tensor binary_raw(BinaryOp op, const char* name, const Tensor& a_in, const Tensor& b_in) {
  check_defined(name, a_in);
  check_defined(name, b_in);
  // C++ numbers live on the CPU; they follow the other operand's device.
  bool moved_b = b_in.impl()->wrapped_number && a_in.device() != b_in.device();
  bool moved_a = a_in.impl()->wrapped_number && a_in.device() != b_in.device() && !moved_b;
  // Both arms of each choice are lvalues, so the references bind without copying a Tensor
  // (a copy is an atomic increment and decrement: most of a one-element op's cost).
  Tensor a_moved, b_moved, a_cast, b_cast;
  if (moved_a) a_moved = to_device_of(a_in, b_in);
  if (moved_b) b_moved = to_device_of(b_in, a_in);
  const Tensor& a = moved_a ? a_moved : a_in;
  const Tensor& b = moved_b ? b_moved : b_in;
  check_same_device(name, a, b);
  DType ct = result_type(a, b);
  if (op == BinaryOp::Div && !is_floating(ct)) ct = kFloat32;
  if ((op == BinaryOp::Sub) && ct == kBool)
    fail(name, ": subtraction of bool tensors is not supported; use logical_xor or ne");
  if (a.dtype() != ct) a_cast = cast_raw(a, ct);
  if (b.dtype() != ct) b_cast = cast_raw(b, ct);
  const Tensor& ac = a.dtype() == ct ? a : a_cast;
  const Tensor& bc = b.dtype() == ct ? b : b_cast;
  Shape shape = broadcast_or_fail(name, a.shape(), b.shape());
  Tensor out = make_tensor(shape, backend::is_bool_output(op) ? kBool : ct, a.device(), name);
  if (out.numel()) backend_of(a).binary(op, view_as(ac, shape), view_as(bc, shape), view_of(out));
  if (autograd::tracing())  // dtype: the type both operands are computed in
    autograd::trace((std::string("binary.") + name).c_str(), {a_in, b_in}, out, {{"dtype", {(int64_t)ct}}});
  return out;
}

}  // namespace tapeflow::detail

namespace tapeflow {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  return detail::broadcast_or_fail("broadcast_shapes", a, b);
}

Tensor wrap(Scalar s) {
  DType dt = s.kind == Scalar::Kind::Bool ? kBool : (s.kind == Scalar::Kind::Int ? kInt64 : kFloat64);
  Tensor t = scalar_tensor(s, dt, Device::cpu());
  t.impl()->wrapped_number = true;
  return t;
}

}  // namespace tapeflow
