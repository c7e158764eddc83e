// cumsum along one axis on CUDA. Long lines contiguous along the axis get a block each: the
// block scans blockDim elements at a time (warp shuffles, then the warp totals) and carries
// the running total forward. Otherwise each thread scans one line serially (adjacent threads,
// adjacent lines). Integers accumulate in int64 and floats in double, as on the CPU.
#include <algorithm>
#include <type_traits>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/rows.cuh"

namespace tapeflow::backend::cuda {
namespace {

template <class T>
using scan_acc_t = std::conditional_t<std::is_floating_point_v<T>, double, long long>;

// ---- kernels ----

template <class T>
__global__ void cumsum_lines_kernel(const T* x, T* out, OffsetCalc<2, uint32_t> lines,
                                    uint32_t nlines, uint32_t L, uint32_t sx, uint32_t so) {
  using Acc = scan_acc_t<T>;
  const uint32_t step = gridDim.x * blockDim.x;
  for (uint32_t line = blockIdx.x * blockDim.x + threadIdx.x; line < nlines; line += step) {
    uint32_t off[2];
    lines.get(line, off);
    Acc acc = 0;
    for (uint32_t k = 0; k < L; ++k) {
      acc = wrap_add(acc, Acc(x[off[0] + k * sx]));  // integers wrap, as on the CPU
      out[off[1] + k * so] = cast_value<T>(acc);
    }
  }
}

template <class T>
__global__ void cumsum_block_kernel(const T* x, T* out, OffsetCalc<2, uint32_t> lines,
                                    uint32_t nlines, uint32_t L) {
  using Acc = scan_acc_t<T>;
  __shared__ Acc warp_sums[32];
  const uint32_t lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (uint32_t line = blockIdx.x; line < nlines; line += gridDim.x) {
    uint32_t off[2];
    lines.get(line, off);
    Acc carry = 0;
    for (uint32_t base = 0; base < L; base += blockDim.x) {
      const uint32_t k = base + threadIdx.x;
      Acc v = k < L ? Acc(x[off[0] + k]) : Acc(0);
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        Acc n = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= unsigned(o)) v = wrap_add(v, n);
      }
      if (lane == 31) warp_sums[warp] = v;
      __syncthreads();
      if (warp == 0) {
        Acc w = lane < warps ? warp_sums[lane] : Acc(0);
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
          Acc n = __shfl_up_sync(0xffffffffu, w, o);
          if (lane >= unsigned(o)) w = wrap_add(w, n);
        }
        warp_sums[lane] = w;  // inclusive scan of the warp totals
      }
      __syncthreads();
      if (warp > 0) v = wrap_add(v, warp_sums[warp - 1]);
      if (k < L) out[off[1] + k] = cast_value<T>(wrap_add(carry, v));
      carry = wrap_add(carry, warp_sums[warps - 1]);
      __syncthreads();  // warp_sums is rewritten by the next chunk
    }
  }
}

// ---- launchers ----

template <class T>
void run_cumsum(const View& x, int axis, const View& out, cudaStream_t stream) {
  const View* views[2] = {&x, &out};
  Rows<2> r = rows_of<2>("cumsum", views, axis);
  const uint32_t nlines = uint32_t(r.count()), L = uint32_t(r.length);
  if (nlines == 0 || L == 0) return;
  auto calc = make_calc<2, uint32_t>(r.dims);
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data);
  if (r.contiguous_axis() && L >= 64) {
    unsigned threads = L >= 256 ? 256 : (L >= 128 ? 128 : 64);
    unsigned grid = unsigned(std::min<uint32_t>(nlines, 1u << 16));
    cumsum_block_kernel<T><<<grid, threads, 0, stream>>>(px, po, calc, nlines, L);
  } else {
    unsigned grid = unsigned(std::min<int64_t>((int64_t(nlines) + 255) / 256, 1 << 16));
    cumsum_lines_kernel<T><<<grid, 256, 0, stream>>>(px, po, calc, nlines, L,
                                                     uint32_t(r.axis_stride[0]),
                                                     uint32_t(r.axis_stride[1]));
  }
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_cumsum(const View& x, int axis, const View& out, cudaStream_t stream) {
  if (x.dtype != out.dtype) fail("cumsum: dtype mismatch ", x.dtype, " -> ", out.dtype);
  if (x.rank == 0) {  // a single element: cumsum is the identity
    launch_copy(x, out, stream);
    return;
  }
  visit_dtype(x.dtype, [&](auto tag) { run_cumsum<decltype(tag)>(x, axis, out, stream); });
}

}  // namespace tapeflow::backend::cuda
