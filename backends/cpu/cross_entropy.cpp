// CpuBackend::cross_entropy_forward / _backward (backends/backend.h): the classifier loss of a
// training step in two kernels instead of a log-softmax, a gather, a negation and, backward, an
// exp, a scatter-add and a product, each an op of its own. The values are those of the composed
// ops bit for bit: lsm from the softmax kernel, loss_i = -lsm[i, label_i], and
// gx = exp(lsm) * g_i, with (exp(lsm) + -1) * g_i at the label.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vec_math.h"

namespace tapeflow::backend::cpu {
namespace {
namespace xent {  // own scope: unity builds merge the anonymous namespaces of this folder

bool rows_ok(const View& m) { return m.rank == 2 && m.is_contiguous(); }

}  // namespace xent
}  // namespace

bool CpuBackend::cross_entropy_forward(const View& z, const View& labels, const View& lsm,
                                       const View& loss) {
  if (!xent::rows_ok(z) || !xent::rows_ok(lsm) || labels.dtype != kInt64 || labels.rank != 1 ||
      loss.rank != 1 || loss.dtype != lsm.dtype || (z.dtype != kFloat32 && z.dtype != kFloat64))
    return false;
  softmax(z, 1, true, lsm);
  const int64_t N = z.shape[0], C = z.shape[1], sl = labels.strides[0], so = loss.strides[0];
  const int64_t* lab = static_cast<const int64_t*>(labels.data);
  visit_dtype(lsm.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T* y = static_cast<const T*>(lsm.data);
      T* out = static_cast<T*>(loss.data);
      for (int64_t i = 0; i < N; ++i) out[i * so] = -y[i * C + lab[i * sl]];
    }
  });
  return true;
}

bool CpuBackend::cross_entropy_backward(const View& lsm, const View& labels, const View& g,
                                        const View& gx) {
  if (!xent::rows_ok(lsm) || !xent::rows_ok(gx) || labels.dtype != kInt64 || labels.rank != 1 ||
      g.rank != 1 || g.dtype != lsm.dtype || gx.dtype != lsm.dtype ||
      (lsm.dtype != kFloat32 && lsm.dtype != kFloat64))
    return false;
  const int64_t N = lsm.shape[0], C = lsm.shape[1], sl = labels.strides[0], sg = g.strides[0];
  const int64_t* lab = static_cast<const int64_t*>(labels.data);
  visit_dtype(lsm.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T* y = static_cast<const T*>(lsm.data);
      const T* gp = static_cast<const T*>(g.data);
      T* out = static_cast<T*>(gx.data);
      parallel_for(0, N, C >= kGrain ? 1 : kGrain / C, [&](int64_t i0, int64_t i1) {
        const int64_t n = (i1 - i0) * C;
        if constexpr (std::is_same_v<T, float>) vec_exp_f32(y + i0 * C, out + i0 * C, n);
        else for (int64_t k = 0; k < n; ++k) out[i0 * C + k] = std::exp(y[i0 * C + k]);
        for (int64_t i = i0; i < i1; ++i) {
          const T gi = gp[i * sg];
          T* row = out + i * C;
          const int64_t l = lab[i * sl];
          row[l] = row[l] + T(-1);
          for (int64_t j = 0; j < C; ++j) row[j] = row[j] * gi;
        }
      });
    }
  });
  return true;
}

}  // namespace tapeflow::backend::cpu
