// CpuBackend::optimizer_step: the fused, in-place optimizer updates (backends/backend.h,
// OptimizerStep). One pass over each parameter, no temporaries: each element is read once,
// updated in registers with the same operation order as the unfused formulas of optim/, and
// written back. Large parameters are split over the pool; float32 runs an AVX-512 or AVX2 build
// of the loops when the CPU has it (vec_math_isa(), chosen at run time), the baseline build
// otherwise.
#include <cmath>

#include "backends/cpu/isa_region.h"
#if TF_ISA_REGIONS
#include <immintrin.h>
#endif

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vec_math.h"
#include "backends/optimizer_args.h"

namespace tapeflow::backend::cpu {
namespace {
namespace fused_optim {  // own scope: unity builds merge the anonymous namespaces of this folder

constexpr int64_t kGrain = 1 << 15;  // elements per chunk: below 64K elements a step runs inline

template <class T>
using Args = OptimizerArgs<T>;

#define TF_INL [[gnu::always_inline]] inline
// The parameter, its gradient and each state buffer are distinct tensors (optim/ allocates the
// state; the front end rejects a gradient that aliases its parameter): telling the compiler so
// lets it vectorise the loops.
#define TF_RESTRICT __restrict__
#define TF_OPT_ENTRY

// The baseline build: one element at a time (W == 1), the compiler free to vectorise what it
// can (the square roots stay scalar: std::sqrt keeps its errno path). Runs every element of
// float64 and the elements past the last whole vector of the builds below.
namespace scalar {
template <class E>
struct L {
  using V = E;
  static constexpr int64_t W = 1;
  static V ld(const E* p) { return *p; }
  static void st(E* p, V v) { *p = v; }
  static V bc(E x) { return x; }
  static V sqrt(V x) { return std::sqrt(x); }
  static V max(V h, V v) { return h > v ? h : v; }
};
#include "backends/optimizer_loops.h"
}  // namespace scalar

#if TF_ISA_REGIONS
// float32 with 8 and 16 lanes: the same loops under the target of AVX2 and of AVX-512F, with
// contraction off (AVX-512F has FMA of its own: GCC would fuse a * b + c). _mm*_max_ps(h, v) is
// h > v ? h : v, NaN and signed zeros included.
#define TF_LANES(NS, TARGET, VT, W_, PS)                                                    \
  TF_ISA_BEGIN(TARGET)                                                                       \
  namespace NS {                                                                             \
    struct F {                                                                               \
      VT v;                                                                                  \
    };                                                                                       \
    TF_INL F operator+(F a, F b) { return {_##PS##_add_ps(a.v, b.v)}; }               \
    TF_INL F operator-(F a, F b) { return {_##PS##_sub_ps(a.v, b.v)}; }               \
    TF_INL F operator*(F a, F b) { return {_##PS##_mul_ps(a.v, b.v)}; }               \
    TF_INL F operator/(F a, F b) { return {_##PS##_div_ps(a.v, b.v)}; }               \
    template <class E>                                                                       \
    struct L;                                                                                \
    template <>                                                                              \
    struct L<float> {                                                                        \
      using V = F;                                                                           \
      static constexpr int64_t W = W_;                                                       \
      TF_INL static V ld(const float* p) { return {_##PS##_loadu_ps(p)}; }            \
      TF_INL static void st(float* p, V v) { _##PS##_storeu_ps(p, v.v); }             \
      TF_INL static V bc(float x) { return {_##PS##_set1_ps(x)}; }                    \
      TF_INL static V sqrt(V x) { return {_##PS##_sqrt_ps(x.v)}; }                    \
      TF_INL static V max(V h, V v) { return {_##PS##_max_ps(h.v, v.v)}; }            \
    };
#define TF_LANES_END TF_ISA_END
// (GCC 12 warns falsely of _mm512_sqrt_ps's undefined source operand.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
TF_LANES(avx2, "GCC target(\"avx2\")", __m256, 8, mm256)
#include "backends/optimizer_loops.h"
}  // namespace avx2
TF_LANES_END
TF_LANES(avx512, "GCC target(\"avx512f\")", __m512, 16, mm512)
#include "backends/optimizer_loops.h"
}  // namespace avx512
TF_LANES_END
#pragma GCC diagnostic pop
#undef TF_LANES
#undef TF_LANES_END
#endif

template <class T>
void run(const OptimizerStep& s, const Args<T>& a, int64_t b, int64_t e) {
#if TF_ISA_REGIONS
  if constexpr (sizeof(T) == 4) {
    const VecIsa isa = vec_math_isa();  // TAPEFLOW_CPU_ISA caps it
    if (isa == VecIsa::Avx512) b = avx512::run<float>(s, a, b, e);
    else if (isa == VecIsa::Avx2) b = avx2::run<float>(s, a, b, e);
  }
#endif
  scalar::run<T>(s, a, b, e);
}

template <class T>
void step(const OptimizerStep& s, const View& param, const View& grad, const View* state, int nstate) {
  const Args<T> a = optimizer_args<T>(s, param, grad, state, nstate);
  parallel_for(0, param.numel(), kGrain, [&](int64_t b, int64_t e) { run<T>(s, a, b, e); });
}

}  // namespace fused_optim
}  // namespace

bool CpuBackend::optimizer_step(const OptimizerStep& s, const View& param, const View& grad,
                                const View* state, int nstate) {
  if (!optimizer_views_ok(s, param, grad, state, nstate)) return false;
  if (param.dtype == kFloat32) fused_optim::step<float>(s, param, grad, state, nstate);
  else fused_optim::step<double>(s, param, grad, state, nstate);
  return true;
}

}  // namespace tapeflow::backend::cpu

#undef TF_INL
#undef TF_RESTRICT
#undef TF_OPT_ENTRY
