// optim::detail::fused_step: checks that a parameter, its gradient and its state can take the
// backend's fused update, then runs it (see fused.h).
#include "optim/fused.h"

#include "tensor/internal.h"

namespace tapeflow::optim::detail {

namespace {
void bump_version(const Tensor& t) { ++t.impl()->storage->version; }
}  // namespace

bool fused_step(const backend::OptimizerStep& s, Tensor& param, const Tensor& grad,
                std::initializer_list<Tensor> state) {
  DType dt = param.dtype();
  if (dt != kFloat32 && dt != kFloat64) return false;
  if (state.size() > 3) return false;
  auto fits = [&](const Tensor& t) {
    return t.defined() && t.dtype() == dt && t.device() == param.device() && t.shape() == param.shape() &&
           t.is_contiguous();
  };
  if (!fits(param) || !fits(grad)) return false;
  backend::View views[3];
  int n = 0;
  for (const Tensor& t : state) {
    if (!fits(t)) return false;
    views[n++] = tapeflow::detail::view_of(t);
  }
  // The fused loops assume distinct buffers (they are vectorised as such): a gradient or a state
  // sharing memory with the parameter or with each other takes the unfused path.
  const Tensor* all[5] = {&param, &grad};
  int na = 2;
  for (const Tensor& t : state) all[na++] = &t;
  for (int i = 0; i < na; ++i)
    for (int j = i + 1; j < na; ++j)
      if (all[i]->shares_storage(*all[j])) return false;
  if (!tapeflow::detail::backend_of(param).optimizer_step(s, tapeflow::detail::view_of(param),
                                                          tapeflow::detail::view_of(grad), views, n))
    return false;
  bump_version(param);
  for (const Tensor& t : state) bump_version(t);
  return true;
}

}  // namespace tapeflow::optim::detail
