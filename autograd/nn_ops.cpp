// Softmax, log-softmax and the fused cross-entropies: fused stable kernels forward, explicit
// backwards (fused when no graph is being built, composite under create_graph).
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
using namespace detail;

namespace {

Tensor softmax_raw(const char* op, const Tensor& x, int d, bool log) {
  Tensor xc = is_floating(x.dtype()) ? x : cast_raw(x, kFloat32);
  Tensor y = make_tensor(xc.shape(), xc.dtype(), xc.device());
  if (y.numel()) backend_of(xc).softmax(view_of(xc), d, log, view_of(y));
  (void)op;
  return y;
}

Tensor softmax_backward_raw(const Tensor& y, const Tensor& g, int d, bool log) {
  Tensor gx = make_tensor(y.shape(), y.dtype(), y.device());
  Tensor gc = cast_raw(g, y.dtype());
  if (gx.numel()) backend_of(y).softmax_backward(view_of(y), view_of(gc), d, log, view_of(gx));
  return gx;
}

int softmax_dim(const char* op, const Tensor& x, int dim) {
  check_defined(op, x);
  if (x.dim() == 0) fail(op, ": expected at least a 1-D tensor");
  return normalize_dim(op, dim, x.dim());
}

}  // namespace

// d softmax: gx = y * (g - sum(g * y))
Tensor softmax(const Tensor& x, int dim) {
  int d = softmax_dim("softmax", x, dim);
  Tensor y = softmax_raw("softmax", x, d, false);
  if (should_record({&x}))
    record("SoftmaxBackward", {&x}, y, [sy = save_output(y), d](Node& n, Grads& gs) -> Grads {
      Tensor y = sy.unpack(n);
      if (!is_grad_enabled()) return {softmax_backward_raw(y, gs[0], d, false)};
      return {y * (gs[0] - sum(gs[0] * y, d, true))};
    });
  if (autograd::tracing()) autograd::trace("softmax", {x}, y, {{"axis", {d}}});
  return y;
}

// d log_softmax: gx = g - exp(y) * sum(g)
Tensor log_softmax(const Tensor& x, int dim) {
  int d = softmax_dim("log_softmax", x, dim);
  Tensor y = softmax_raw("log_softmax", x, d, true);
  if (should_record({&x}))
    record("LogSoftmaxBackward", {&x}, y, [sy = save_output(y), d](Node& n, Grads& gs) -> Grads {
      Tensor y = sy.unpack(n);
      if (!is_grad_enabled()) return {softmax_backward_raw(y, gs[0], d, true)};
      return {gs[0] - exp(y) * sum(gs[0], d, true)};
    });
  if (autograd::tracing()) autograd::trace("log_softmax", {x}, y, {{"axis", {d}}});
  return y;
}

// loss_i = logsumexp(z_i) - z_i[label_i];  d/dz_i = (softmax(z_i) - onehot(label_i)) * g_i.
// Fused backend kernels where the backend has them (a contiguous float input), the composed
// ops otherwise; both give the same values.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels) {
  check_same_device("cross_entropy", logits, labels);
  if (logits.dim() != 2) fail("cross_entropy: logits must be 2-D (batch, classes), got shape ", logits.shape());
  if (labels.dim() != 1 || labels.shape()[0] != logits.shape()[0])
    fail("cross_entropy: labels must have shape (", logits.shape()[0], ",) for logits of shape ", logits.shape(),
         ", got ", labels.shape());
  if (!is_integral(labels.dtype())) fail("cross_entropy: labels must be integers, got dtype ", labels.dtype());
  int64_t C = logits.shape()[1];
  Tensor lab1 = cast_raw(labels, kInt64);
  // Every label in [0, C): read in place on the CPU (a training step's labels), through a host
  // copy elsewhere.
  auto bad = [C](int64_t v) { fail_index("cross_entropy: label ", v, " is out of range for ", C, " classes"); };
  if (lab1.device().is_cpu() && lab1.is_contiguous()) {
    const int64_t* lp = lab1.data_ptr<int64_t>();
    for (int64_t i = 0, nl = lab1.numel(); i < nl; ++i)
      if (lp[i] < 0 || lp[i] >= C) bad(lp[i]);
  } else {
    for (int64_t v : lab1.to_vector<int64_t>())
      if (v < 0 || v >= C) bad(v);
  }
  Tensor lsm, loss;
  bool fused = false;
  if (is_floating(logits.dtype()) && logits.is_contiguous() && logits.numel() > 0) {
    lsm = make_tensor(logits.shape(), logits.dtype(), logits.device());
    loss = make_tensor(Shape{logits.shape()[0]}, logits.dtype(), logits.device());
    fused = backend_of(logits).cross_entropy_forward(view_of(logits), view_of(lab1), view_of(lsm), view_of(loss));
  }
  if (!fused) {
    NoGradGuard ng;
    lsm = softmax_raw("cross_entropy", logits, 1, true);
    loss = -gather(lsm, 1, lab1.unsqueeze(1)).squeeze(1);
  }
  loss = loss.detach();
  if (should_record({&logits}))
    record("CrossEntropyBackward", {&logits}, loss, [sz = save(logits), lsm, lab1](Node& n, Grads& gs) -> Grads {
      if (is_grad_enabled()) {
        Tensor z = sz.unpack(n);
        Tensor onehot = one_hot(lab1, z.shape()[1]).astype(z.dtype());
        return {(softmax(z, 1) - onehot) * gs[0].unsqueeze(1)};
      }
      Tensor g = cast_raw(gs[0], lsm.dtype());
      Tensor gx = make_tensor(lsm.shape(), lsm.dtype(), lsm.device());
      if (lsm.numel() > 0 &&
          backend_of(lsm).cross_entropy_backward(view_of(lsm), view_of(lab1), view_of(g), view_of(gx)))
        return {gx};
      Tensor p = exp(lsm);
      Tensor lab = lab1.unsqueeze(1);
      Tensor minus = full(lab.shape(), -1.0, Options(p.dtype(), p.device()));
      return {scatter_add(p, 1, lab, minus) * g.unsqueeze(1)};
    });
  return loss;
}

// loss_i = -sum_j t_ij log_softmax(z_i)_j  (a composite over the fused log_softmax)
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& target, int dim) {
  check_same_device("softmax_cross_entropy", logits, target);
  softmax_dim("softmax_cross_entropy", logits, dim);  // errors name this op, not log_softmax
  if (logits.shape() != target.shape())
    fail("softmax_cross_entropy: logits of shape ", logits.shape(), " and target of shape ", target.shape(),
         " must have the same shape");
  return -sum(target * log_softmax(logits, dim), dim);
}

}  // namespace tapeflow
