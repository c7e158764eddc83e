// CpuBackend::optimizer_step: the fused, in-place optimizer updates (backends/backend.h,
// OptimizerStep). One pass over each parameter, no temporaries: each element is read once,
// updated in registers with the same operation order as the unfused formulas of optim/, and
// written back. Large parameters are split over the pool; float32 runs an AVX-512 or AVX2 build
// of the loops when the CPU has it (vec_math_isa(), chosen at run time), the baseline build
// otherwise.
#include <cmath>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vec_math.h"

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
// The parameter, its gradient and each state buffer are distinct tensors (optim/ allocates the
// state; the front end rejects a gradient that aliases its parameter): telling the compiler so
// lets it vectorise the loops.
#define TF_RESTRICT __restrict__

template <class T, bool WD>
TF_INL T decay(T x, T wd) { return WD ? x - x * wd : x; }

template <class T, bool WD, bool MOM, bool NESTEROV>
TF_INL void sgd(const Args<T>& a, int64_t b, int64_t e) {
  T* TF_RESTRICT p = a.p;
  const T* TF_RESTRICT gp = a.g;
  T* TF_RESTRICT s0 = a.s0;
  const T wd = a.wd, lr = a.lr, mom = a.mom;
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(p[i], wd), g = gp[i];
    if constexpr (!MOM) {
      x = x - g * lr;
    } else {
      T v = s0[i] * mom;
      v = v - g * lr;
      s0[i] = v;
      x = NESTEROV ? x + (v * mom - g * lr) : x + v;
    }
    p[i] = x;
  }
}

template <class T, bool WD, bool AMS>
TF_INL void adam(const Args<T>& a, int64_t b, int64_t e) {
  T* TF_RESTRICT p = a.p;
  const T* TF_RESTRICT gp = a.g;
  T* TF_RESTRICT s0 = a.s0;
  T* TF_RESTRICT s1 = a.s1;
  T* TF_RESTRICT s2 = a.s2;
  const T wd = a.wd, b1 = a.b1, one_b1 = a.one_b1, b2 = a.b2, one_b2 = a.one_b2, alpha = a.alpha, eps = a.eps;
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(p[i], wd), g = gp[i];
    T m = s0[i] * b1;
    m = m + g * one_b1;
    T v = s1[i] * b2;
    v = v + (g * g) * one_b2;
    s0[i] = m;
    s1[i] = v;
    T d = v;
    if constexpr (AMS) {
      T h = s2[i];
      d = h > v ? h : v;
      s2[i] = d;
    }
    p[i] = x - (m * alpha) / (std::sqrt(d) + eps);
  }
}

template <class T, bool WD, bool CENTERED, bool MOM>
TF_INL void rmsprop(const Args<T>& a, int64_t b, int64_t e) {
  T* TF_RESTRICT p = a.p;
  const T* TF_RESTRICT gp = a.g;
  T* TF_RESTRICT s0 = a.s0;
  T* TF_RESTRICT avg = CENTERED ? a.s1 : nullptr;  // unused otherwise
  T* TF_RESTRICT buf = CENTERED ? a.s2 : a.s1;
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(p[i], a.wd), g = gp[i];
    T s = s0[i] * a.rho;
    s = s + (g * g) * a.one_rho;
    s0[i] = s;
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
    p[i] = x;
  }
}

template <class T, bool WD>
TF_INL void adagrad(const Args<T>& a, int64_t b, int64_t e) {
  T* TF_RESTRICT p = a.p;
  const T* TF_RESTRICT gp = a.g;
  T* TF_RESTRICT s0 = a.s0;
  for (int64_t i = b; i < e; ++i) {
    T x = decay<T, WD>(p[i], a.wd), g = gp[i];
    T acc = s0[i] + g * g;
    s0[i] = acc;
    p[i] = x - g * a.lr / std::sqrt(acc + a.eps);
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
// Adam on float32, 8 lanes at a time: the compiler keeps the loop above scalar (std::sqrt's
// errno handling survives the attribute), so it is spelled out. The same operations in the
// same order, no FMA: the results equal the scalar loop's bit for bit.
template <bool WD>
TF_AVX2_OPT int64_t adam_f32_avx2(const Args<float>& a, int64_t b, int64_t e) {
  float* TF_RESTRICT p = a.p;
  const float* TF_RESTRICT gp = a.g;
  float* TF_RESTRICT s0 = a.s0;
  float* TF_RESTRICT s1 = a.s1;
  const __m256 wd = _mm256_set1_ps(a.wd), b1 = _mm256_set1_ps(a.b1), one_b1 = _mm256_set1_ps(a.one_b1),
               b2 = _mm256_set1_ps(a.b2), one_b2 = _mm256_set1_ps(a.one_b2),
               alpha = _mm256_set1_ps(a.alpha), eps = _mm256_set1_ps(a.eps);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    __m256 x = _mm256_loadu_ps(p + i), g = _mm256_loadu_ps(gp + i);
    if constexpr (WD) x = _mm256_sub_ps(x, _mm256_mul_ps(x, wd));
    __m256 m = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(s0 + i), b1), _mm256_mul_ps(g, one_b1));
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(s1 + i), b2),
                             _mm256_mul_ps(_mm256_mul_ps(g, g), one_b2));
    _mm256_storeu_ps(s0 + i, m);
    _mm256_storeu_ps(s1 + i, v);
    __m256 den = _mm256_add_ps(_mm256_sqrt_ps(v), eps);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(x, _mm256_div_ps(_mm256_mul_ps(m, alpha), den)));
  }
  return i;
}
TF_AVX2_OPT void run_f32_avx2(const OptimizerStep& s, const Args<float>& a, int64_t b, int64_t e) {
  if (s.kind == OptimizerStep::Kind::Adam && !s.amsgrad)
    b = s.weight_decay != 0 ? adam_f32_avx2<true>(a, b, e) : adam_f32_avx2<false>(a, b, e);
  dispatch<float>(s, a, b, e);  // the tail (or every element of the other optimizers)
}
// The same with 16 lanes where the CPU has AVX-512 (its square roots and divisions are the
// step's cost: a 670K-parameter Adam step is bound by them, not by memory).
// (GCC 12 warns falsely of _mm512_sqrt_ps's undefined source operand.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define TF_AVX512_OPT \
  __attribute__((target("avx512f"), optimize("no-math-errno", "fp-contract=off")))
template <bool WD>
TF_AVX512_OPT int64_t adam_f32_avx512(const Args<float>& a, int64_t b, int64_t e) {
  float* TF_RESTRICT p = a.p;
  const float* TF_RESTRICT gp = a.g;
  float* TF_RESTRICT s0 = a.s0;
  float* TF_RESTRICT s1 = a.s1;
  const __m512 wd = _mm512_set1_ps(a.wd), b1 = _mm512_set1_ps(a.b1), one_b1 = _mm512_set1_ps(a.one_b1),
               b2 = _mm512_set1_ps(a.b2), one_b2 = _mm512_set1_ps(a.one_b2),
               alpha = _mm512_set1_ps(a.alpha), eps = _mm512_set1_ps(a.eps);
  int64_t i = b;
  for (; i + 16 <= e; i += 16) {
    __m512 x = _mm512_loadu_ps(p + i), g = _mm512_loadu_ps(gp + i);
    if constexpr (WD) x = _mm512_sub_ps(x, _mm512_mul_ps(x, wd));
    __m512 m = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(s0 + i), b1), _mm512_mul_ps(g, one_b1));
    __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(s1 + i), b2),
                             _mm512_mul_ps(_mm512_mul_ps(g, g), one_b2));
    _mm512_storeu_ps(s0 + i, m);
    _mm512_storeu_ps(s1 + i, v);
    __m512 den = _mm512_add_ps(_mm512_sqrt_ps(v), eps);
    _mm512_storeu_ps(p + i, _mm512_sub_ps(x, _mm512_div_ps(_mm512_mul_ps(m, alpha), den)));
  }
  return i;
}
TF_AVX512_OPT void run_f32_avx512(const OptimizerStep& s, const Args<float>& a, int64_t b, int64_t e) {
  if (s.kind == OptimizerStep::Kind::Adam && !s.amsgrad)
    b = s.weight_decay != 0 ? adam_f32_avx512<true>(a, b, e) : adam_f32_avx512<false>(a, b, e);
  dispatch<float>(s, a, b, e);
}
#undef TF_AVX512_OPT
#pragma GCC diagnostic pop
#endif
template <class T>
TF_BASE void run_base(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
  dispatch<T>(s, a, b, e);
}

template <class T>
void run(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
#if defined(__x86_64__) || defined(__i386__)
  if constexpr (sizeof(T) == 4) {
    const VecIsa isa = vec_math_isa();  // TAPEFLOW_CPU_ISA caps it
    if (isa == VecIsa::Avx512) return run_f32_avx512(s, a, b, e);
    if (isa == VecIsa::Avx2) return run_f32_avx2(s, a, b, e);
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
#undef TF_RESTRICT
#undef TF_BASE
#undef TF_AVX2_OPT
