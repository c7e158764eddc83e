// CudaBackend::sort_rows for rows of up to 1024 elements: one block per row, a bitonic sort in
// shared memory on (value, position) pairs, so equal values keep their order (stable) and NaN
// sorts as the largest value, as the CPU kernel. Longer rows use the host-staged default
// (backends/fallback.cpp).
#include <algorithm>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

// ---- kernels ----

template <class T>
__device__ bool key_less(T a, T b) {
  if (a != a) return false;  // NaN is the largest
  if (b != b) return true;
  return a < b;
}

// Does entry a (value va, position ia; ia < 0 = padding) come before entry b?
template <class T>
__device__ bool before(T va, int64_t ia, T vb, int64_t ib, bool descending) {
  if (ia < 0 || ib < 0) return ia >= 0 && ib < 0;  // padding goes last
  if (descending ? key_less(vb, va) : key_less(va, vb)) return true;
  if (descending ? key_less(va, vb) : key_less(vb, va)) return false;
  return ia < ib;
}

template <class T>
__global__ void sort_rows_kernel(const T* __restrict__ x, int64_t n, int64_t k, int P, bool descending,
                                 T* __restrict__ values, int64_t* __restrict__ indices) {
  extern __shared__ unsigned char smem[];
  int64_t* si = reinterpret_cast<int64_t*>(smem);
  T* sv = reinterpret_cast<T*>(si + P);
  const int64_t row = blockIdx.x;
  const T* xr = x + row * n;
  for (int t = threadIdx.x; t < P; t += blockDim.x) {
    si[t] = t < n ? t : -1;
    sv[t] = t < n ? xr[t] : T(0);
  }
  __syncthreads();
  for (int size = 2; size <= P; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = threadIdx.x; t < P; t += blockDim.x) {
        const int u = t ^ stride;
        if (u > t) {
          const bool up = (t & size) == 0;
          const bool swap = up ? before(sv[u], si[u], sv[t], si[t], descending)
                               : before(sv[t], si[t], sv[u], si[u], descending);
          if (swap) {
            const T v = sv[t]; sv[t] = sv[u]; sv[u] = v;
            const int64_t i = si[t]; si[t] = si[u]; si[u] = i;
          }
        }
      }
      __syncthreads();
    }
  }
  for (int64_t j = threadIdx.x; j < k; j += blockDim.x) {
    values[row * k + j] = sv[j];
    indices[row * k + j] = si[j];
  }
}

// ---- launchers ----

template <class T>
void launch_typed(const View& x, int64_t k, bool descending, const View& values, const View& indices, int P,
                  cudaStream_t stream) {
  const int threads = std::min(256, std::max(32, P / 2));
  const size_t shared = size_t(P) * (sizeof(int64_t) + sizeof(T));
  sort_rows_kernel<T><<<unsigned(x.shape[0]), threads, shared, stream>>>(
      static_cast<const T*>(x.data), x.shape[1], k, P, descending, static_cast<T*>(values.data),
      static_cast<int64_t*>(indices.data));
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool launch_sort_rows(const View& x, int64_t k, bool descending, const View& values, const View& indices,
                      cudaStream_t stream) {
  const int64_t M = x.shape[0], n = x.shape[1];
  if (n > kSortRowsMax || M > int64_t(0x7fffffff)) return false;
  if (M == 0 || k == 0) return true;
  int P = 1;
  while (P < n) P <<= 1;
  switch (x.dtype) {
    case kFloat32: launch_typed<float>(x, k, descending, values, indices, P, stream); return true;
    case kFloat64: launch_typed<double>(x, k, descending, values, indices, P, stream); return true;
    case kInt64: launch_typed<int64_t>(x, k, descending, values, indices, P, stream); return true;
    case kInt32: launch_typed<int32_t>(x, k, descending, values, indices, P, stream); return true;
    default: return false;
  }
}

}  // namespace tapeflow::backend::cuda
