// im2col / col2im on CUDA over contiguous (N, C, H, W) images (see Window2d in
// backends/backend.h). im2col: one thread per column-matrix element. col2im is written as a
// gather (one thread per image element, summing the column entries that read it), so it needs
// no atomics and is deterministic.
#include <algorithm>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

// ---- kernels ----

template <class T>
__global__ void im2col_kernel(Window2d g, const T* __restrict__ x, T* __restrict__ cols, int64_t n) {
  const int64_t L = g.out_h * g.out_w, kk = g.kernel_h * g.kernel_w;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t r = e / L, l = e % L, plane = r / kk, tap = r % kk;
    const int64_t i = tap / g.kernel_w, j = tap % g.kernel_w, oh = l / g.out_w, ow = l % g.out_w;
    const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
    const int64_t w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
    const bool inside = h >= 0 && h < g.in_h && w >= 0 && w < g.in_w;
    cols[e] = inside ? x[(plane * g.in_h + h) * g.in_w + w] : T(0);
  }
}

template <class T>
__global__ void col2im_kernel(Window2d g, const T* __restrict__ cols, T* __restrict__ x, int64_t n) {
  const int64_t L = g.out_h * g.out_w, kk = g.kernel_h * g.kernel_w;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t w = e % g.in_w, h = (e / g.in_w) % g.in_h, plane = e / (g.in_w * g.in_h);
    T s = 0;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      const int64_t th = h + g.pad_h - i * g.dilation_h;
      if (th < 0 || th % g.stride_h != 0 || th / g.stride_h >= g.out_h) continue;
      const int64_t oh = th / g.stride_h;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t tw = w + g.pad_w - j * g.dilation_w;
        if (tw < 0 || tw % g.stride_w != 0 || tw / g.stride_w >= g.out_w) continue;
        s += cols[(plane * kk + i * g.kernel_w + j) * L + oh * g.out_w + tw / g.stride_w];
      }
    }
    x[e] = s;
  }
}

// ---- launchers ----

unsigned window_grid(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, int64_t(1) << 20)); }

void check_window_dtypes(const char* op, const View& a, const View& b) {
  if (a.dtype != b.dtype || (a.dtype != kFloat32 && a.dtype != kFloat64))
    fail(op, ": the CUDA backend needs two float32 or two float64 operands, got ", a.dtype, " and ", b.dtype);
}

}  // namespace

void launch_im2col(const Window2d& g, const View& x, const View& cols, cudaStream_t stream) {
  check_window_dtypes("im2col", x, cols);
  const int64_t n = cols.numel();
  if (n == 0) return;
  if (x.dtype == kFloat32)
    im2col_kernel<float><<<window_grid(n), 256, 0, stream>>>(g, static_cast<const float*>(x.data),
                                                          static_cast<float*>(cols.data), n);
  else
    im2col_kernel<double><<<window_grid(n), 256, 0, stream>>>(g, static_cast<const double*>(x.data),
                                                           static_cast<double*>(cols.data), n);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_col2im(const Window2d& g, const View& cols, const View& x, cudaStream_t stream) {
  check_window_dtypes("col2im", cols, x);
  const int64_t n = x.numel();
  if (n == 0) return;
  if (x.dtype == kFloat32)
    col2im_kernel<float><<<window_grid(n), 256, 0, stream>>>(g, static_cast<const float*>(cols.data),
                                                          static_cast<float*>(x.data), n);
  else
    col2im_kernel<double><<<window_grid(n), 256, 0, stream>>>(g, static_cast<const double*>(cols.data),
                                                           static_cast<double*>(x.data), n);
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace tapeflow::backend::cuda
