// CpuBackend::optimizer_step: the fused, in-place optimizer updates (backends/backend.h,
// OptimizerStep). One pass over each parameter, no temporaries: each element is read once,
// updated in registers with the same operation order as the unfused formulas of optim/, and
// written back. Large parameters are split over the pool; float32 runs an AVX2 build of the
// loops when the CPU has it (chosen at run time), the baseline build otherwise.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {
namespace {
namespace fused_optim {  // own scope: unity builds merge the anonymous namespaces of this folder

constexpr int64_t kGrain = 1 << 15;  // elements per chunk: below 64K elements a step runs inline

template <class T>
struct Args {
  T* p;
  const T* g;
  T* s0;
  T* s1;
  T* s2;
  T lr, wd, mom, b1, one_b1, b2, one_b2, alpha, rho, one_rho, eps;
};

#define TF_INL [[gnu::always_inline]] inline

template <class T, bool WD>
TF_INL T decay(T x, T wd) { return WD ? x - x * wd : x; }

template <class T, bool WD, bool MOM, bool NESTEROV>
TF_INL void sgd(const Args<T>& a, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(a.p[i], a.wd), g = a.g[i];
    if constexpr (!MOM) {
      x = x - g * a.lr;
    } else {
      T v = a.s0[i] * a.mom;
      v = v - g * a.lr;
      a.s0[i] = v;
      x = NESTEROV ? x + (v * a.mom - g * a.lr) : x + v;
    }
    a.p[i] = x;
  }
}

template <class T, bool WD, bool AMS>
TF_INL void adam(const Args<T>& a, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(a.p[i], a.wd), g = a.g[i];
    T m = a.s0[i] * a.b1;
    m = m + g * a.one_b1;
    T v = a.s1[i] * a.b2;
    v = v + (g * g) * a.one_b2;
    a.s0[i] = m;
    a.s1[i] = v;
    T d = v;
    if constexpr (AMS) {
      T h = a.s2[i];
      d = h > v ? h : v;
      a.s2[i] = d;
    }
    a.p[i] = x - (m * a.alpha) / (std::sqrt(d) + a.eps);
  }
}

template <class T, bool WD, bool CENTERED, bool MOM>
TF_INL void rmsprop(const Args<T>& a, int64_t b, int64_t e) {
  T* avg = a.s1;
  T* buf = CENTERED ? a.s2 : a.s1;
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(a.p[i], a.wd), g = a.g[i];
    T s = a.s0[i] * a.rho;
    s = s + (g * g) * a.one_rho;
    a.s0[i] = s;
    T den;
    if constexpr (CENTERED) {
      T m = avg[i] * a.rho;
      m = m + g * a.one_rho;
      avg[i] = m;
      den = s - m * m + a.eps;
    } else {
      den = s + a.eps;
    }
    T inc = g * a.lr / std::sqrt(den);
    if constexpr (MOM) {
      T q = buf[i] * a.mom;
      q = q + inc;
      buf[i] = q;
      x = x - q;
    } else {
      x = x - inc;
    }
    a.p[i] = x;
  }
}

template <class T, bool WD>
TF_INL void adagrad(const Args<T>& a, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(a.p[i], a.wd), g = a.g[i];
    T acc = a.s0[i] + g * g;
    a.s0[i] = acc;
    a.p[i] = x - g * a.lr / std::sqrt(acc + a.eps);
  }
}

// Picks the loop for the flags of s (template flags keep every loop branch-free).
template <class T, bool WD>
TF_INL void dispatch_wd(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
  using K = OptimizerStep::Kind;
  switch (s.kind) {
    case K::SGD:
      if (s.momentum == 0) return sgd<T, WD, false, false>(a, b, e);
      if (s.nesterov) return sgd<T, WD, true, true>(a, b, e);
      return sgd<T, WD, true, false>(a, b, e);
    case K::Adam:
      if (s.amsgrad) return adam<T, WD, true>(a, b, e);
      return adam<T, WD, false>(a, b, e);
    case K::RMSprop:
      if (s.centered) {
        if (s.momentum > 0) return rmsprop<T, WD, true, true>(a, b, e);
        return rmsprop<T, WD, true, false>(a, b, e);
      }
      if (s.momentum > 0) return rmsprop<T, WD, false, true>(a, b, e);
      return rmsprop<T, WD, false, false>(a, b, e);
    case K::Adagrad:
      return adagrad<T, WD>(a, b, e);
  }
}

template <class T>
TF_INL void dispatch(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
  if (s.weight_decay != 0) dispatch_wd<T, true>(s, a, b, e);
  else dispatch_wd<T, false>(s, a, b, e);
}

// sqrt vectorises only without errno: the loops never take a negative square root that the
// unfused formulas would not (both give NaN), so errno is not needed.
#define TF_BASE __attribute__((optimize("no-math-errno")))
#if defined(__x86_64__) || defined(__i386__)
#define TF_AVX2_OPT __attribute__((target("avx2"), optimize("no-math-errno")))
TF_AVX2_OPT void run_f32_avx2(const OptimizerStep& s, const Args<float>& a, int64_t b, int64_t e) {
  dispatch<float>(s, a, b, e);
}
bool has_avx2() {
  static const bool yes = [] { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") != 0; }();
  return yes;
}
#endif
template <class T>
TF_BASE void run_base(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
  dispatch<T>(s, a, b, e);
}

template <class T>
void run(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
#if defined(__x86_64__) || defined(__i386__)
  if constexpr (sizeof(T) == 4) {
    if (has_avx2()) return run_f32_avx2(s, a, b, e);
  }
#endif
  run_base<T>(s, a, b, e);
}

template <class T>
void step(const OptimizerStep& s, const View& param, const View& grad, const View* state, int nstate) {
  Args<T> a{};
  a.p = static_cast<T*>(param.data);
  a.g = static_cast<const T*>(grad.data);
  T* st[3] = {nullptr, nullptr, nullptr};
  for (int i = 0; i < nstate && i < 3; ++i) st[i] = static_cast<T*>(state[i].data);
  a.s0 = st[0]; a.s1 = st[1]; a.s2 = st[2];
  a.lr = T(s.lr); a.wd = T(s.weight_decay); a.mom = T(s.momentum);
  a.b1 = T(s.beta1); a.one_b1 = T(1.0 - s.beta1); a.b2 = T(s.beta2); a.one_b2 = T(1.0 - s.beta2);
  a.alpha = T(s.alpha); a.rho = T(s.rho); a.one_rho = T(1.0 - s.rho); a.eps = T(s.eps);
  parallel_for(0, param.numel(), kGrain, [&](int64_t b, int64_t e) { run<T>(s, a, b, e); });
}

int needed_state(const OptimizerStep& s) {
  using K = OptimizerStep::Kind;
  switch (s.kind) {
    case K::SGD: return s.momentum == 0 ? 0 : 1;
    case K::Adam: return s.amsgrad ? 3 : 2;
    case K::RMSprop: return 1 + (s.centered ? 1 : 0) + (s.momentum > 0 ? 1 : 0);
    case K::Adagrad: return 1;
  }
  return -1;
}

}  // namespace fused_optim
}  // namespace

bool CpuBackend::optimizer_step(const OptimizerStep& s, const View& param, const View& grad,
                                const View* state, int nstate) {
  DType dt = param.dtype;
  if (dt != kFloat32 && dt != kFloat64) return false;
  using namespace fused_optim;
  if (nstate != needed_state(s)) return false;
  int64_t n = param.numel();
  auto ok = [&](const View& v) { return v.dtype == dt && v.numel() == n && v.is_contiguous(); };
  if (!ok(param) || !ok(grad)) return false;
  for (int i = 0; i < nstate; ++i)
    if (!ok(state[i])) return false;
  if (dt == kFloat32) step<float>(s, param, grad, state, nstate);
  else step<double>(s, param, grad, state, nstate);
  return true;
}

}  // namespace tapeflow::backend::cpu

#undef TF_INL
#undef TF_BASE
#undef TF_AVX2_OPT
