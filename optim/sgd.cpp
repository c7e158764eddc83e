// SGD's update rule (plain, momentum, Nesterov), in place under the base's NoGradGuard.
#include "optim/sgd.h"

#include "optim/fused.h"
#include "tensor/ops.h"

namespace tapeflow::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions o)
    : Optimizer(std::move(params), o.lr, common_options(o)), o_(o) {
  if (!(o.momentum >= 0 && o.momentum <= 1)) fail("SGD: momentum must be in [0, 1], got ", o.momentum);
  if (o.nesterov && o.momentum == 0) fail("SGD: nesterov needs a momentum > 0");
}

void SGD::update(size_t index, Tensor& param, const Tensor& grad, double lr_t) {
  if (o_.momentum == 0) {
    param.sub_(grad * lr_t);
    return;
  }
  Tensor v = slot(index, "momentum");
  v *= o_.momentum;
  v.sub_(grad * lr_t);  // v = m*v - lr*g
  if (o_.nesterov)
    param.add_(v * o_.momentum - grad * lr_t);
  else
    param.add_(v);
}

bool SGD::fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd) {
  backend::OptimizerStep s;
  s.kind = backend::OptimizerStep::Kind::SGD;
  s.lr = lr_t;
  s.weight_decay = wd;
  s.momentum = o_.momentum;
  s.nesterov = o_.nesterov;
  if (o_.momentum == 0) return detail::fused_step(s, param, grad, {});
  return detail::fused_step(s, param, grad, {slot(index, "momentum")});
}

}  // namespace tapeflow::optim
