// CpuBackend::random: Philox4x32-10 through random_value() of backends/functors.h (the same
// numbers on every device). Element i uses counter offset + i, so the values do not depend on
// how the range is split across threads.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/functors.h"

namespace tapeflow::backend::cpu {

void CpuBackend::random(RandomKind kind, const View& out, uint64_t seed, uint64_t offset,
                        double a, double b) {
  if (!out.is_contiguous()) fail("random: the output must be contiguous");
  const int64_t n = out.numel();
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.data);
    // NOTE: a uniform double just below b can round up to b in float32; keep [a, b) half-open.
    const bool clamp = std::is_same_v<T, float> && kind == RandomKind::Uniform && a < b;
    const T top = clamp ? T(std::nextafter(float(b), float(a))) : T(0);
    parallel_for(0, n, kGrain / 16, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        T v = convert<T>(random_value(kind, seed, offset + uint64_t(i), a, b));
        if (clamp && v >= T(b)) v = top;
        p[i] = v;
      }
    });
  });
}

}  // namespace tapeflow::backend::cpu
