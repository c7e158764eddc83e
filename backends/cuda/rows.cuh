// Shared by the fused row kernels (softmax, softmax_backward): the "rows" of a tensor along
// an axis (every index except the axis, as an offset calculator over N operands), the launch
// shape for one row per group of bx threads, and the in-row reduction (warp shuffles, then
// shared memory across the warps of a row).
#pragma once
#include <limits>

#include "backends/cuda/layout.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {

template <int N>
struct Rows {
  Dims<N> dims;           // every dim but the axis
  int64_t length = 1;     // the axis length
  int64_t axis_stride[N]; // each operand's stride along the axis
  int64_t count() const { return dims.numel(); }
  bool contiguous_axis() const {
    for (int k = 0; k < N; ++k) if (axis_stride[k] != 1 && length > 1) return false;
    return true;
  }
};

template <int N>
Rows<N> rows_of(const char* op, const View* const* views, int axis) {
  const View& v0 = *views[0];
  Rows<N> r;
  int64_t shape[kMaxDims], strides[N][kMaxDims];
  const int64_t* sp[N];
  int n = 0;
  for (int d = 0; d < v0.rank; ++d) {
    if (d == axis) continue;
    shape[n] = v0.shape[d];
    for (int k = 0; k < N; ++k) strides[k][n] = views[k]->strides[d];
    ++n;
  }
  for (int k = 0; k < N; ++k) sp[k] = strides[k];
  r.dims = coalesce<N>(n, shape, sp);
  r.length = v0.rank > 0 ? v0.shape[axis] : 1;
  for (int k = 0; k < N; ++k) r.axis_stride[k] = v0.rank > 0 ? views[k]->strides[axis] : 1;
  int64_t total = r.count() * r.length;
  bool fits = total < kMax32;
  for (int k = 0; k < N; ++k)
    if (r.dims.extent(k) + (r.length - 1) * r.axis_stride[k] >= kMax32) fits = false;
  if (!fits) fail(op, ": CUDA kernels for tensors of 2^31 or more elements are not supported");
  return r;
}

// Threads per row: one warp for short rows, up to 512 for long ones (~8 elements a thread).
inline unsigned threads_per_row(int64_t length) {
  unsigned bx = 32;
  while (bx < 512 && int64_t(bx) * 8 < length) bx *= 2;
  return bx;
}

template <class T>
__device__ __forceinline__ T max_nan(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return b > a ? b : a;
}

// Reduces v over the blockDim.x threads of this row (threadIdx.y); every thread gets the result.
// smem: [blockDim.y][32]. Call from every thread of the block (it synchronises).
template <bool kMax, class T>
__device__ T row_reduce(T v, T (*smem)[32]) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    T w = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? max_nan(v, w) : v + w;
  }
  if (blockDim.x == 32) return v;
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();  // earlier readers of smem are done
  if (lane == 0) smem[threadIdx.y][warp] = v;
  __syncthreads();
  v = smem[threadIdx.y][0];
  for (unsigned w = 1; w < warps; ++w) v = kMax ? max_nan(v, smem[threadIdx.y][w]) : v + smem[threadIdx.y][w];
  return v;
}

template <class T>
__device__ __forceinline__ T neg_inf() {
  return -std::numeric_limits<T>::infinity();
}

}  // namespace tapeflow::backend::cuda
