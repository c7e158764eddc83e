// batch_norm and layer_norm (tensor/nn_ops.h): fused backend kernels forward and backward.
// The backward runs the fused kernel when no graph is being built; under create_graph it is the
// same formula in public ops (so it differentiates again).
#include <cmath>

#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::needs_input_grad;
using autograd::Node;
using autograd::record;
using autograd::save;
using autograd::should_record;
using namespace detail;

namespace {

backend::View opt_view(const Tensor& t) { return t.defined() ? view_of(t) : backend::View{}; }

void check_param(const char* op, const char* what, const Tensor& p, const Shape& want, const Tensor& x) {
  if (!p.defined()) return;
  check_same_device(op, x, p);
  if (p.shape() != want) fail(op, ": ", what, " must have shape ", want, ", got ", p.shape(), " (input shape ", x.shape(), ")");
  if (p.dtype() != x.dtype()) fail(op, ": ", what, " has dtype ", p.dtype(), " but the input has dtype ", x.dtype());
}

Tensor mean_of(const Tensor& t, Axes a) { return tapeflow::mean(t, a, true); }

Tensor contig_as(const Tensor& t, DType dt) { return cast_raw(t, dt).contiguous(); }

Tensor batch_norm_impl(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  check_defined(op, input);
  if (input.dim() < 2 || input.dim() > 5)
    fail(op, ": expected a 2-D to 5-D input (N, C, ...), got shape ", input.shape());
  if (!is_floating(input.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", input.dtype());
  const int64_t N = input.shape()[0], C = input.shape()[1], S = C ? input.numel() / std::max<int64_t>(1, N * C) : 0;
  const Shape cs{C};
  check_param(op, "weight", weight, cs, input);
  check_param(op, "bias", bias, cs, input);
  check_param(op, "running_mean", running_mean, cs, input);
  check_param(op, "running_var", running_var, cs, input);
  if (running_mean.defined() != running_var.defined())
    fail(op, ": running_mean and running_var must both be given or both be undefined");
  if (!training && !running_mean.defined())
    fail(op, ": eval mode (training = false) needs running_mean and running_var");
  if (training && N * S <= 1)
    fail(op, ": expected more than 1 value per channel when training, got input shape ", input.shape());
  if (!(eps > 0)) fail(op, ": eps must be positive, got ", eps);
  const DType dt = input.dtype();
  const Device dev = input.device();
  Tensor x = input.contiguous();
  const Shape x3{N, C, S};
  backend::View xv = view_of(x);
  xv.rank = 3; xv.shape[0] = N; xv.shape[1] = C; xv.shape[2] = S;
  xv.strides[0] = C * S; xv.strides[1] = S; xv.strides[2] = 1;
  Tensor mean, invstd;
  {
    NoGradGuard ng;
    if (training) {
      mean = make_tensor(cs, dt, dev);
      Tensor var = make_tensor(cs, dt, dev);
      if (x.numel()) backend_of(x).batch_norm_stats(xv, view_of(mean), view_of(var));
      invstd = rsqrt(var + eps);
      if (running_mean.defined()) {
        const double M = double(N * S);
        Tensor nm = running_mean.detach() * (1.0 - momentum) + mean * momentum;
        Tensor nv = running_var.detach() * (1.0 - momentum) + var * (momentum * M / (M - 1.0));
        backend_of(x).copy_strided(view_of(nm), view_of(running_mean));
        backend_of(x).copy_strided(view_of(nv), view_of(running_var));
        ++running_mean.impl()->storage->version;
        ++running_var.impl()->storage->version;
      }
    } else {
      mean = running_mean.detach().contiguous();
      invstd = rsqrt(running_var.detach() + eps).contiguous();
    }
  }
  Tensor y = make_tensor(input.shape(), dt, dev);
  backend::View yv = view_of(y);
  yv.rank = 3; for (int i = 0; i < 3; ++i) { yv.shape[i] = xv.shape[i]; yv.strides[i] = xv.strides[i]; }
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  if (x.numel()) backend_of(x).batch_norm_forward(xv, view_of(mean), view_of(invstd), opt_view(w), opt_view(b), yv);
  if (should_record({&input, &weight, &bias})) {
    record("BatchNormBackward", {&input, &weight, &bias}, y,
           [sx = save(x), w, mean, invstd, training, x3, eps](Node& n, Grads& gs) -> Grads {
             Tensor x = sx.unpack(n);
             Tensor gy = contig_as(gs[0], x.dtype());
             const bool need_x = needs_input_grad(n, 0), need_w = needs_input_grad(n, 1), need_b = needs_input_grad(n, 2);
             if (is_grad_enabled()) {  // the same formula in public ops (differentiable)
               Axes ax{0, 2};
               Tensor x3t = x.reshape(x3), g3 = gy.reshape(x3);
               Tensor m = training ? mean_of(x3t, ax) : mean.reshape({1, x3[1], 1});
               Tensor is = training ? rsqrt(var(x3t, ax, 0, true) + eps) : invstd.reshape({1, x3[1], 1});
               Tensor xh = (x3t - m) * is;
               Tensor ww = w.defined() ? w.reshape({1, x3[1], 1}) : Tensor();
               Tensor g = ww.defined() ? g3 * ww : g3;
               Tensor gx = training ? is * (g - mean_of(g, ax) - xh * mean_of(g * xh, ax)) : g * is;
               return {need_x ? gx.reshape(x.shape()) : Tensor(), need_w ? sum(g3 * xh, {0, 2}) : Tensor(),
                       need_b ? sum(g3, {0, 2}) : Tensor()};
             }
             auto v3 = [&](const Tensor& t) {
               backend::View v = view_of(t);
               v.rank = 3;
               for (int i = 0; i < 3; ++i) v.shape[i] = x3[i];
               v.strides[0] = x3[1] * x3[2]; v.strides[1] = x3[2]; v.strides[2] = 1;
               return v;
             };
             Tensor gx = need_x ? make_tensor(x.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gw = need_w ? make_tensor({x3[1]}, x.dtype(), x.device()) : Tensor();
             Tensor gb = need_b ? make_tensor({x3[1]}, x.dtype(), x.device()) : Tensor();
             if (x.numel())
               backend_of(x).batch_norm_backward(v3(x), v3(gy), view_of(mean), view_of(invstd), opt_view(w), training,
                                                 gx.defined() ? v3(gx) : backend::View{}, opt_view(gw), opt_view(gb));
             else {
               if (gw.defined()) gw = zeros({x3[1]}, Options(x.dtype(), x.device()));
               if (gb.defined()) gb = zeros({x3[1]}, Options(x.dtype(), x.device()));
             }
             return {gx, gw, gb};
           });
  }
  return y;
}

}  // namespace

// Reports itself to a tracer (autograd/trace.h) as one "batch_norm": inputs x, running_mean,
// running_var, then weight and bias where given; its parts are not traced.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  const bool tr = autograd::tracing();
  Tensor y;
  {
    autograd::TraceGuard off(nullptr);
    y = batch_norm_impl(input, running_mean, running_var, weight, bias, training, momentum, eps);
  }
  if (tr) {
    std::vector<Tensor> ins{input};
    for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
      if (t->defined()) ins.push_back(*t);
    autograd::trace("batch_norm", ins, y,
                    {{"training", {training}}, {"has_stats", {running_mean.defined()}},
                     {"has_weight", {weight.defined()}}, {"has_bias", {bias.defined()}}, {"epsilon", {}, eps}});
  }
  return y;
}

Tensor layer_norm(const Tensor& input, const std::vector<int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  check_defined(op, input);
  if (!is_floating(input.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", input.dtype());
  const int nd = int(normalized_shape.size());
  Shape ns;
  for (int64_t d : normalized_shape) ns.push_back(d);
  bool ok = nd >= 1 && nd <= input.dim();
  for (int i = 0; ok && i < nd; ++i) ok = input.shape()[input.dim() - nd + i] == normalized_shape[size_t(i)];
  if (!ok) fail(op, ": normalized_shape ", ns, " must be the trailing dims of the input, got input shape ", input.shape());
  check_param(op, "weight", weight, ns, input);
  check_param(op, "bias", bias, ns, input);
  if (!(eps > 0)) fail(op, ": eps must be positive, got ", eps);
  const int64_t K = ns.numel(), M = K ? input.numel() / K : 0;
  const DType dt = input.dtype();
  const Device dev = input.device();
  Tensor x = input.contiguous();
  auto v2 = [M, K](const Tensor& t) {
    backend::View v = view_of(t);
    v.rank = 2; v.shape[0] = M; v.shape[1] = K; v.strides[0] = K; v.strides[1] = 1;
    return v;
  };
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = make_tensor(input.shape(), dt, dev);
  Tensor mean = make_tensor({M}, dt, dev), rstd = make_tensor({M}, dt, dev);
  if (x.numel()) backend_of(x).layer_norm_forward(v2(x), opt_view(w), opt_view(b), eps, v2(y), view_of(mean), view_of(rstd));
  if (should_record({&input, &weight, &bias})) {
    record("LayerNormBackward", {&input, &weight, &bias}, y,
           [sx = save(x), w, mean, rstd, M, K, ns, eps, v2](Node& n, Grads& gs) -> Grads {
             Tensor x = sx.unpack(n);
             Tensor gy = contig_as(gs[0], x.dtype());
             const bool need_x = needs_input_grad(n, 0), need_w = needs_input_grad(n, 1), need_b = needs_input_grad(n, 2);
             if (is_grad_enabled()) {
               Tensor x2 = x.reshape({M, K}), g2 = gy.reshape({M, K});
               Tensor m = mean_of(x2, {1}), is = rsqrt(var(x2, {1}, 0, true) + eps);
               Tensor xh = (x2 - m) * is;
               Tensor g = w.defined() ? g2 * w.reshape({1, K}) : g2;
               Tensor gx = is * (g - mean_of(g, {1}) - xh * mean_of(g * xh, {1}));
               return {need_x ? gx.reshape(x.shape()) : Tensor(), need_w ? sum(g2 * xh, {0}).reshape(ns) : Tensor(),
                       need_b ? sum(g2, {0}).reshape(ns) : Tensor()};
             }
             Tensor gx = need_x ? make_tensor(x.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gw = need_w ? zeros(ns, Options(x.dtype(), x.device())) : Tensor();
             Tensor gb = need_b ? zeros(ns, Options(x.dtype(), x.device())) : Tensor();
             if (x.numel())
               backend_of(x).layer_norm_backward(v2(x), v2(gy), view_of(mean), view_of(rstd), opt_view(w),
                                                 gx.defined() ? v2(gx) : backend::View{}, opt_view(gw), opt_view(gb));
             return {gx, gw, gb};
           });
  }
  if (autograd::tracing())
    autograd::trace("layer_norm", {input, weight, bias}, y, {{"axes", {(int64_t)nd}}, {"epsilon", {}, eps}});
  return y;
}

}  // namespace tapeflow
