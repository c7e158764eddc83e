// CpuBackend::sort_rows: a stable sort of each row (indices sorted by key, ties by position),
// or a partial sort when only the first k are kept (topk). Rows run in parallel.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"
#include "base/error.h"

namespace tapeflow::backend::cpu {
namespace {

// PyTorch's order: NaN is larger than every number.
template <class T> bool key_less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

template <class T>
void sort_kernel(const View& x, int64_t k, bool descending, const View& values, const View& indices) {
  const int64_t M = x.shape[0], n = x.shape[1];
  const T* xp = static_cast<const T*>(x.data);
  T* vp = static_cast<T*>(values.data);
  int64_t* ip = static_cast<int64_t*>(indices.data);
  parallel_for(0, M, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n)), [&](int64_t m0, int64_t m1) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t m = m0; m < m1; ++m) {
      const T* r = xp + m * n;
      std::iota(idx.begin(), idx.end(), int64_t(0));
      // Strict weak order on (key, position): ties keep their original order.
      auto before = [&](int64_t a, int64_t b) {
        if (descending ? key_less(r[b], r[a]) : key_less(r[a], r[b])) return true;
        if (descending ? key_less(r[a], r[b]) : key_less(r[b], r[a])) return false;
        return a < b;
      };
      if (k < n) std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), before);
      else std::sort(idx.begin(), idx.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        vp[m * k + j] = r[idx[size_t(j)]];
        ip[m * k + j] = idx[size_t(j)];
      }
    }
  });
}

}  // namespace

void CpuBackend::sort_rows(const View& x, int64_t k, bool descending, const View& values,
                           const View& indices) {
  switch (x.dtype) {
    case kFloat64: sort_kernel<double>(x, k, descending, values, indices); break;
    case kFloat32: sort_kernel<float>(x, k, descending, values, indices); break;
    case kInt64: sort_kernel<int64_t>(x, k, descending, values, indices); break;
    case kInt32: sort_kernel<int32_t>(x, k, descending, values, indices); break;
    default: throw tapeflow::Error(tapeflow::str_cat("sort_rows: unsupported dtype ", dtype_str(x.dtype)));
  }
}

}  // namespace tapeflow::backend::cpu
