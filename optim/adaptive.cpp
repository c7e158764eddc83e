// Update rules of Adam/AdamW, RMSprop and Adagrad (see adaptive.h for the formulas). All run
// in place under the base's NoGradGuard.
#include "optim/adaptive.h"

#include <cmath>

#include "optim/fused.h"
#include "tensor/ops.h"

namespace tapeflow::optim {

namespace {
void check_unit(const char* who, const char* what, double v, bool closed_right = false) {
  bool ok = closed_right ? (v >= 0 && v <= 1) : (v >= 0 && v < 1);
  if (!ok) fail(who, ": ", what, " must be in [0, 1", closed_right ? "]" : ")", ", got ", v);
}
void check_eps(const char* who, double eps) {
  if (!(eps >= 0)) fail(who, ": epsilon must be non-negative, got ", eps);
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions o)
    : Optimizer(std::move(params), o.lr, common_options(o)), o_(o) {
  check_unit("Adam", "beta_1", o.beta_1);
  check_unit("Adam", "beta_2", o.beta_2);
  check_eps("Adam", o.epsilon);
}

double Adam::step_size(double lr_t) const {
  double t = (double)local_step();
  return lr_t * std::sqrt(1.0 - std::pow(o_.beta_2, t)) / (1.0 - std::pow(o_.beta_1, t));
}

bool Adam::fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) {
  backend::OptimizerStep s;
  s.kind = backend::OptimizerStep::Kind::Adam;
  s.lr = lr_t;
  s.weight_decay = wd;
  s.beta1 = o_.beta_1;
  s.beta2 = o_.beta_2;
  s.alpha = step_size(lr_t);
  s.eps = o_.epsilon;
  s.amsgrad = o_.amsgrad;
  if (o_.amsgrad)
    return detail::fused_step(s, param, grad, {slot(index, "m"), slot(index, "v"), slot(index, "vhat")});
  return detail::fused_step(s, param, grad, {slot(index, "m"), slot(index, "v")});
}

void Adam::update(size_t index, Tensor& param, const Tensor& grad, double lr_t) {
  Tensor m = slot(index, "m");
  Tensor v = slot(index, "v");
  double alpha = step_size(lr_t);
  m *= o_.beta_1;
  m.add_(grad * (1.0 - o_.beta_1));
  v *= o_.beta_2;
  v.add_(square(grad) * (1.0 - o_.beta_2));
  Tensor denom_v = v;
  if (o_.amsgrad) {
    Tensor vhat = slot(index, "vhat");
    vhat.copy_(maximum(vhat, v));
    denom_v = vhat;
  }
  param.sub_(m * alpha / (sqrt(denom_v) + o_.epsilon));
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions o)
    : Optimizer(std::move(params), o.lr, common_options(o)), o_(o) {
  check_unit("RMSprop", "rho", o.rho);
  check_unit("RMSprop", "momentum", o.momentum);
  check_eps("RMSprop", o.epsilon);
}

void RMSprop::update(size_t index, Tensor& param, const Tensor& grad, double lr_t) {
  Tensor s = slot(index, "velocity");
  s *= o_.rho;
  s.add_(square(grad) * (1.0 - o_.rho));
  Tensor denom;
  if (o_.centered) {
    Tensor a = slot(index, "average_grad");
    a *= o_.rho;
    a.add_(grad * (1.0 - o_.rho));
    denom = s - square(a) + o_.epsilon;
  } else {
    denom = s + o_.epsilon;
  }
  Tensor inc = grad * lr_t / sqrt(denom);
  if (o_.momentum > 0) {
    Tensor b = slot(index, "momentum");
    b *= o_.momentum;
    b.add_(inc);
    param.sub_(b);
  } else {
    param.sub_(inc);
  }
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions o)
    : Optimizer(std::move(params), o.lr, common_options(o)), o_(o) {
  if (!(o.initial_accumulator_value >= 0))
    fail("Adagrad: initial_accumulator_value must be non-negative, got ", o.initial_accumulator_value);
  check_eps("Adagrad", o.epsilon);
}

bool RMSprop::fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) {
  backend::OptimizerStep s;
  s.kind = backend::OptimizerStep::Kind::RMSprop;
  s.lr = lr_t;
  s.weight_decay = wd;
  s.rho = o_.rho;
  s.momentum = o_.momentum;
  s.centered = o_.centered;
  s.eps = o_.epsilon;
  Tensor sv = slot(index, "velocity");
  if (o_.centered && o_.momentum > 0)
    return detail::fused_step(s, param, grad, {sv, slot(index, "average_grad"), slot(index, "momentum")});
  if (o_.centered) return detail::fused_step(s, param, grad, {sv, slot(index, "average_grad")});
  if (o_.momentum > 0) return detail::fused_step(s, param, grad, {sv, slot(index, "momentum")});
  return detail::fused_step(s, param, grad, {sv});
}

bool Adagrad::fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) {
  backend::OptimizerStep s;
  s.kind = backend::OptimizerStep::Kind::Adagrad;
  s.lr = lr_t;
  s.weight_decay = wd;
  s.eps = o_.epsilon;
  return detail::fused_step(s, param, grad, {slot(index, "accumulator", o_.initial_accumulator_value)});
}

void Adagrad::update(size_t index, Tensor& param, const Tensor& grad, double lr_t) {
  Tensor acc = slot(index, "accumulator", o_.initial_accumulator_value);
  acc.add_(square(grad));
  param.sub_(grad * lr_t / sqrt(acc + o_.epsilon));
}

}  // namespace tapeflow::optim
