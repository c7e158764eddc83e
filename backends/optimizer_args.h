// The fused optimizer step's arguments, shared by the CPU and CUDA backends (their loops:
// backends/optimizer_loops.h): the buffers and the coefficients of OptimizerStep in the
// parameter's dtype, and the state buffers each update rule takes. Plain C++ (nvcc and the
// host compiler both read it). Internal header (not public API).
#pragma once
#include <cstdint>

#include "backends/backend.h"

namespace tapeflow::backend {

template <class T>
struct OptimizerArgs {
  T* p;
  const T* g;
  T* s0;
  T* s1;
  T* s2;
  T lr, wd, mom, b1, one_b1, b2, one_b2, alpha, rho, one_rho, eps;
};

// The state buffers the rule of s takes, in OptimizerStep's order (-1: unknown kind).
inline int optimizer_state_count(const OptimizerStep& s) {
  using K = OptimizerStep::Kind;
  switch (s.kind) {
    case K::SGD: return s.momentum == 0 ? 0 : 1;
    case K::Adam: return s.amsgrad ? 3 : 2;
    case K::RMSprop: return 1 + (s.centered ? 1 : 0) + (s.momentum > 0 ? 1 : 0);
    case K::Adagrad: return 1;
  }
  return -1;
}

// Whether a backend's fused step takes these views: a float dtype, the rule's number of state
// buffers, every view contiguous with the parameter's dtype and element count.
inline bool optimizer_views_ok(const OptimizerStep& s, const View& param, const View& grad, const View* state,
                               int nstate) {
  const DType dt = param.dtype;
  if (dt != kFloat32 && dt != kFloat64) return false;
  if (nstate != optimizer_state_count(s)) return false;
  const int64_t n = param.numel();
  auto ok = [&](const View& v) { return v.dtype == dt && v.numel() == n && v.is_contiguous(); };
  if (!ok(param) || !ok(grad)) return false;
  for (int i = 0; i < nstate; ++i)
    if (!ok(state[i])) return false;
  return true;
}

template <class T>
OptimizerArgs<T> optimizer_args(const OptimizerStep& s, const View& param, const View& grad, const View* state,
                                int nstate) {
  OptimizerArgs<T> a{};
  a.p = static_cast<T*>(param.data);
  a.g = static_cast<const T*>(grad.data);
  T* st[3] = {nullptr, nullptr, nullptr};
  for (int i = 0; i < nstate && i < 3; ++i) st[i] = static_cast<T*>(state[i].data);
  a.s0 = st[0];
  a.s1 = st[1];
  a.s2 = st[2];
  a.lr = T(s.lr);
  a.wd = T(s.weight_decay);
  a.mom = T(s.momentum);
  a.b1 = T(s.beta1);
  a.one_b1 = T(1.0 - s.beta1);
  a.b2 = T(s.beta2);
  a.one_b2 = T(1.0 - s.beta2);
  a.alpha = T(s.alpha);
  a.rho = T(s.rho);
  a.one_rho = T(1.0 - s.rho);
  a.eps = T(s.eps);
  return a;
}

}  // namespace tapeflow::backend
