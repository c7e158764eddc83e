// detail::dense_activation: a Dense layer's forward in one gemm plus one in-place activation
// pass, and one backward node (see dense.h).
#include "autograd/dense.h"

#include "autograd/elementwise_forward.h"
#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/ops.h"

namespace tapeflow::detail {

using autograd::Grads;
using autograd::Node;
using backend::BinaryOp;
using backend::UnaryOp;

Tensor dense_activation(const Tensor& bias, const Tensor& x, const Tensor& w, UnaryOp act) {
  if (act != UnaryOp::Tanh && act != UnaryOp::Sigmoid && act != UnaryOp::Relu) return Tensor();
  if (autograd::tracing()) return Tensor();  // exporters see the addmm and the activation
  if (!x.defined() || !w.defined() || !bias.defined()) return Tensor();
  DType dt = x.dtype();
  if (!is_floating(dt) || w.dtype() != dt || bias.dtype() != dt) return Tensor();
  if (x.device() != w.device() || x.device() != bias.device()) return Tensor();
  if (x.dim() != 2 || w.dim() != 2 || bias.dim() != 1 || x.size(1) != w.size(0) || bias.size(0) != w.size(1))
    return Tensor();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = addmm(bias, x, w);  // a fresh tensor nothing else holds
  }
  if (!y.is_contiguous()) return Tensor();
  backend::View v = view_of(y);
  backend_of(y).unary(act, v, v, 0, 0);
  if (autograd::should_record({&bias, &x, &w}))
    autograd::record("DenseBackward", {&bias, &x, &w}, y,
                     [sx = autograd::save(x), sw = autograd::save(w), sy = autograd::save_output(y), act](
                         Node& n, Grads& gs) -> Grads {
                       const Tensor& g = gs[0];
                       Tensor out = sy.unpack(n), gz;
                       if (is_grad_enabled()) {  // create_graph: differentiable ops
                         if (act == UnaryOp::Tanh) gz = g * (1 - out * out);
                         else if (act == UnaryOp::Sigmoid) gz = g * out * (1 - out);
                         else gz = g * gt(out, 0).astype(g.dtype());
                       } else {
                         BinaryOp op = act == UnaryOp::Tanh      ? BinaryOp::TanhGrad
                                       : act == UnaryOp::Sigmoid ? BinaryOp::SigmoidGrad
                                                                 : BinaryOp::ReluGrad;  // out > 0 iff x > 0
                         gz = binary_raw(op, "dense_backward", g, out);
                       }
                       Tensor gb, gx, gw;
                       if (autograd::needs_input_grad(n, 0)) gb = sum(gz, {0});
                       if (autograd::needs_input_grad(n, 1)) gx = matmul(gz, sw.unpack(n).transpose(0, 1));
                       if (autograd::needs_input_grad(n, 2)) gw = matmul(sx.unpack(n).transpose(0, 1), gz);
                       return {gb, gx, gw};
                     });
  return y;
}

}  // namespace tapeflow::detail
