// Copies between dtypes and devices (astype, clone, to) and the in-place ops. In-place ops
// bump the storage's version counter; under grad mode they rebase the tensor's history onto
// the new value (NOTE: other views of the same storage keep their old history).
#include "autograd/elementwise_forward.h"
#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::should_record;
using backend::BinaryOp;
using namespace detail;

Tensor Tensor::astype(DType t) const {
  check_defined("astype", *this);
  if (t == dtype()) return *this;
  Tensor y = cast_raw(*this, t);
  if (is_floating(t) && should_record({this}))  // the engine casts the gradient back
    record("AsTypeBackward", {this}, y, [](Node&, Grads& gs) -> Grads { return {gs[0]}; });
  if (autograd::tracing()) autograd::trace("astype", {*this}, y, {{"dtype", {(int64_t)t}}});
  return y;
}

Tensor Tensor::clone() const {
  check_defined("clone", *this);
  Tensor y = make_tensor(shape(), dtype(), device(), "clone");
  if (numel()) backend_of(*this).copy_strided(view_of(*this), view_of(y));
  if (should_record({this}))
    record("CloneBackward", {this}, y, [](Node&, Grads& gs) -> Grads { return {gs[0]}; });
  if (autograd::tracing()) autograd::trace("identity", {*this}, y);
  return y;
}

Tensor Tensor::to(Device d) const {
  check_defined("to", *this);
  if (d == device()) return *this;
  backend::backend_for(d);  // throws "built without CUDA" / "no CUDA device" early
  Tensor src = detach().contiguous();
  Tensor y = make_tensor(shape(), dtype(), d, "to");
  size_t n = numel() * dtype_size(dtype());
  if (n) {
    if (d.is_cpu()) {
      backend_of(src).copy_to_host(y.raw_data(), src.raw_data(), n);
    } else if (src.device().is_cpu()) {
      backend_of(y).copy_from_host(y.raw_data(), src.raw_data(), n);
    } else {
      Tensor host = src.to(Device::cpu());
      backend_of(y).copy_from_host(y.raw_data(), host.raw_data(), n);
    }
  }
  if (should_record({this}))
    record("ToDeviceBackward", {this}, y, [from = device()](Node&, Grads& gs) -> Grads { return {gs[0].to(from)}; });
  return y;
}

namespace {

void bump(const Tensor& t) { ++t.impl()->storage->version; }

void check_inplace(const char* op, const Tensor& self) {
  check_defined(op, self);
  if (is_grad_enabled() && self.requires_grad() && self.is_leaf())
    fail(op, ": a leaf tensor that requires grad (shape ", self.shape(), ") is being used in an in-place "
         "operation; do it under NoGradGuard (as optimizers do) or on a clone");
}

// Writes `value` into self's memory (broadcast, cast) without recording.
void write_raw(const char* op, const Tensor& self, const Tensor& value) {
  Tensor v = value.device() == self.device() ? value : value.detach().to(self.device());
  if (broadcast_or_fail(op, self.shape(), v.shape()) != self.shape())
    fail(op, ": a value of shape ", v.shape(), " cannot be written in place into shape ", self.shape());
  if (self.numel()) backend_of(self).copy_strided(view_as(v, self.shape()), view_of(self));
  bump(self);
}

// Makes self's history that of `r` (whose value self now holds).
void rebase(Tensor& self, const Tensor& r) {
  Tensor rr = r.dtype() == self.dtype() ? r : r.astype(self.dtype());
  if (!rr.grad_fn_node()) return;
  autograd::set_grad_fn(autograd::meta(self), rr.grad_fn_node(), rr.impl()->autograd->output_nr);
}

// The general in-place path: compute out of place (from a recorded clone when building a
// graph, so saved inputs are never the overwritten memory), write back, rebase.
template <class F>
Tensor& inplace(Tensor& self, const char* op, const Tensor* other, F&& compute) {
  check_inplace(op, self);
  bool rec = is_grad_enabled() && (self.requires_grad() || (other && other->requires_grad()));
  if (!rec) {
    Tensor r = compute(self);
    write_raw(op, self, r);
    return self;
  }
  Tensor r = compute(self.clone());
  if (r.shape() != self.shape())
    fail(op, ": the result of shape ", r.shape(), " cannot be written in place into shape ", self.shape());
  write_raw(op, self, r.detach());
  rebase(self, r);  // a plain self now requires grad through r (as PyTorch records it)
  return self;
}

Tensor& binary_inplace(Tensor& self, BinaryOp op, const char* name, const Tensor& o, Tensor (*fn)(const Tensor&, const Tensor&)) {
  check_inplace(name, self);
  check_defined(name, o);
  // As PyTorch: the result must be castable to self's dtype (no float into an integer tensor,
  // nothing but bool into a bool tensor); e.g. int32 /= 2 is true division and refuses.
  DType rt = result_type(self, o);
  if (op == BinaryOp::Div && !is_floating(rt)) rt = kFloat32;
  if ((is_floating(rt) && !is_floating(self.dtype())) || (rt != kBool && self.dtype() == kBool))
    fail(name, ": result type ", rt, " can't be cast to the desired output type ", self.dtype(),
         " (in-place on a tensor of shape ", self.shape(), ")");
  bool rec = is_grad_enabled() && (self.requires_grad() || o.requires_grad());
  // Fast path (optimizer updates): same dtype and device, no recording, o broadcasts to self.
  if (!rec && o.device() == self.device() && (o.dtype() == self.dtype() || o.impl()->wrapped_number) &&
      is_floating(self.dtype())) {
    if (broadcast_or_fail(name, self.shape(), o.shape()) != self.shape())
      fail(name, ": a value of shape ", o.shape(), " cannot be combined in place into shape ", self.shape());
    Tensor oc = cast_raw(o, self.dtype());
    if (self.numel()) backend_of(self).binary(op, view_of(self), view_as(oc, self.shape()), view_of(self));
    bump(self);
    return self;
  }
  // self op= self: both operands are the recorded clone, so the node saves no reference to self
  // (which would be a cycle self -> grad_fn -> saved self).
  bool self_operand = o.is_same(self);
  return inplace(self, name, &o, [&](const Tensor& s) { return fn(s, self_operand ? s : o); });
}

}  // namespace

Tensor& Tensor::add_(const Tensor& o) { return binary_inplace(*this, BinaryOp::Add, "add_", o, &tapeflow::add); }
Tensor& Tensor::sub_(const Tensor& o) { return binary_inplace(*this, BinaryOp::Sub, "sub_", o, &tapeflow::sub); }
Tensor& Tensor::mul_(const Tensor& o) { return binary_inplace(*this, BinaryOp::Mul, "mul_", o, &tapeflow::mul); }
Tensor& Tensor::div_(const Tensor& o) { return binary_inplace(*this, BinaryOp::Div, "div_", o, &tapeflow::div); }
Tensor& Tensor::operator+=(Scalar s) { return add_(wrap(s)); }
Tensor& Tensor::operator-=(Scalar s) { return sub_(wrap(s)); }
Tensor& Tensor::operator*=(Scalar s) { return mul_(wrap(s)); }
Tensor& Tensor::operator/=(Scalar s) { return div_(wrap(s)); }

Tensor& Tensor::clamp_(Scalar lo, Scalar hi) {
  return inplace(*this, "clamp_", nullptr, [&](const Tensor& s) { return tapeflow::clamp(s, lo, hi); });
}

Tensor& Tensor::fill_(Scalar v) {
  check_inplace("fill_", *this);
  if (numel()) backend_of(*this).fill(view_of(*this), v.to_double());
  bump(*this);
  if (is_grad_enabled() && !is_leaf())  // the new value depends on nothing
    record("FillBackward", std::vector<const Tensor*>{}, *this, [](Node&, Grads&) -> Grads { return {}; });
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0); }

// d copy_(src) = identity for src (summed back over broadcast dims); self's old value is gone.
Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_", *this);
  check_defined("copy_", src);
  write_raw("copy_", *this, src);
  if (is_grad_enabled() && (src.requires_grad() || requires_grad())) {
    if (!is_floating(dtype())) fail("copy_: cannot record a copy into a ", dtype(), " tensor");
    record("CopyBackward", {&src}, *this, [](Node&, Grads& gs) -> Grads { return {gs[0]}; });
  }
  return *this;
}

}  // namespace tapeflow
