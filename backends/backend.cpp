// Backend lookup by device, and the default fused softmax built from the primitives (a new
// backend only has to implement the primitives to start).
#include "backends/backend.h"

#include <cmath>
#include <vector>

#include "base/error.h"

namespace tapeflow::backend {

Backend& backend_for(Device d) {
  if (d.kind == Device::Kind::CPU) return cpu_backend();
  return cuda_backend(d.index);
}

namespace {
// A scratch buffer on the backend's device, freed on scope exit.
struct Scratch {
  Backend& be;
  void* p;
  size_t n;
  Scratch(Backend& b, size_t bytes) : be(b), p(b.allocate(bytes)), n(bytes) {}
  ~Scratch() { be.deallocate(p, n); }
};
View reduced_view(const View& x, int axis, void* data) {
  View r = x;
  r.data = data;
  r.shape[axis] = 1;
  int64_t acc = 1;
  for (int i = r.rank - 1; i >= 0; --i) { r.strides[i] = acc; acc *= r.shape[i]; }
  return r;
}
View broadcast_along(View r, int axis, int64_t n) {
  r.shape[axis] = n;
  r.strides[axis] = 0;
  return r;
}
}  // namespace

void Backend::softmax(const View& x, int axis, bool log, const View& out) {
  size_t es = dtype_size(x.dtype);
  int64_t n = x.shape[axis];
  View red0 = x;
  red0.shape[axis] = 1;
  Scratch m(*this, red0.numel() * es), s(*this, red0.numel() * es);
  View mv = reduced_view(x, axis, m.p), sv = reduced_view(x, axis, s.p);
  reduce(ReduceOp::Max, x, 1u << axis, mv);
  binary(BinaryOp::Sub, x, broadcast_along(mv, axis, n), out);  // out = x - max
  if (log) {
    // out = (x - max) - log(sum(exp(x - max)))
    Scratch e(*this, x.numel() * es);
    View ev = out;
    ev.data = e.p;
    int64_t acc = 1;
    for (int i = ev.rank - 1; i >= 0; --i) { ev.strides[i] = acc; acc *= ev.shape[i]; }
    unary(UnaryOp::Exp, out, ev, 0, 0);
    reduce(ReduceOp::Sum, ev, 1u << axis, sv);
    unary(UnaryOp::Log, sv, sv, 0, 0);
    binary(BinaryOp::Sub, out, broadcast_along(sv, axis, n), out);
  } else {
    unary(UnaryOp::Exp, out, out, 0, 0);
    reduce(ReduceOp::Sum, out, 1u << axis, sv);
    binary(BinaryOp::Div, out, broadcast_along(sv, axis, n), out);
  }
}

void Backend::softmax_backward(const View& y, const View& gy, int axis, bool log, const View& gx) {
  size_t es = dtype_size(y.dtype);
  int64_t n = y.shape[axis];
  View red0 = y;
  red0.shape[axis] = 1;
  Scratch s(*this, red0.numel() * es);
  View sv = reduced_view(y, axis, s.p);
  if (log) {
    // gx = gy - exp(y) * sum(gy)
    reduce(ReduceOp::Sum, gy, 1u << axis, sv);
    unary(UnaryOp::Exp, y, gx, 0, 0);
    binary(BinaryOp::Mul, gx, broadcast_along(sv, axis, n), gx);
    binary(BinaryOp::Sub, gy, gx, gx);
  } else {
    // gx = y * (gy - sum(gy * y))
    binary(BinaryOp::Mul, gy, y, gx);
    reduce(ReduceOp::Sum, gx, 1u << axis, sv);
    binary(BinaryOp::Sub, gy, broadcast_along(sv, axis, n), gx);
    binary(BinaryOp::Mul, gx, y, gx);
  }
}

bool Backend::optimizer_step(const OptimizerStep&, const View&, const View&, const View*, int) {
  return false;
}

bool Backend::gemm_bias(DType, bool, bool, int64_t, int64_t, int64_t, const void*, int64_t, const void*, int64_t,
                        const void*, void*, int64_t) {
  return false;
}

void Backend::prefetch_rows(const void*, int64_t, const int64_t*, int64_t) {}

bool Backend::cross_entropy_forward(const View&, const View&, const View&, const View&) { return false; }

bool Backend::cross_entropy_backward(const View&, const View&, const View&, const View&) { return false; }

}  // namespace tapeflow::backend
