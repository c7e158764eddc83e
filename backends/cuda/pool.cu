// Max / average pooling on CUDA over contiguous (N, C, H, W) tensors (see Window2d in
// backends/backend.h). Forward: one thread per output. Backward: one thread per input element,
// gathering from the windows that cover it (no atomics, deterministic); for max pooling a
// window contributes only where its argmax index is this element.
#include <algorithm>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

// ---- kernels ----

template <class T>
__global__ void max_pool_kernel(Window2d g, const T* __restrict__ x, T* __restrict__ out,
                                int64_t* __restrict__ idx, int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t ow = e % g.out_w, oh = (e / g.out_w) % g.out_h, plane = e / (g.out_w * g.out_h);
    const T* xp = x + plane * g.in_h * g.in_w;
    T best = T(0);
    int64_t at = -1;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
      if (h < 0 || h >= g.in_h) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
        if (w < 0 || w >= g.in_w) continue;
        const T v = xp[h * g.in_w + w];
        if (at < 0 || v > best || (isnan(v) && !isnan(best))) {
          best = v;
          at = h * g.in_w + w;
        }
      }
    }
    out[e] = best;
    idx[e] = at;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(Window2d g, const T* __restrict__ gy, const int64_t* __restrict__ idx,
                                         T* __restrict__ gx, int64_t n) {
  const int64_t L = g.out_h * g.out_w;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t w = e % g.in_w, h = (e / g.in_w) % g.in_h, plane = e / (g.in_w * g.in_h);
    const int64_t self = h * g.in_w + w;
    T s = 0;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      const int64_t th = h + g.pad_h - i * g.dilation_h;
      if (th < 0 || th % g.stride_h != 0 || th / g.stride_h >= g.out_h) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t tw = w + g.pad_w - j * g.dilation_w;
        if (tw < 0 || tw % g.stride_w != 0 || tw / g.stride_w >= g.out_w) continue;
        const int64_t o = plane * L + (th / g.stride_h) * g.out_w + tw / g.stride_w;
        if (idx[o] == self) s += gy[o];
      }
    }
    gx[e] = s;
  }
}

// The divisor of window (oh, ow), as PyTorch's avg_pool2d; lo/hi: the window clipped to the input.
__device__ inline int64_t avg_divisor(const Window2d& g, bool include_pad, int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  int64_t h1 = min(h0 + g.kernel_h, g.in_h + g.pad_h), w1 = min(w0 + g.kernel_w, g.in_w + g.pad_w);
  if (include_pad) return (h1 - h0) * (w1 - w0);
  h0 = max(h0, int64_t(0)); w0 = max(w0, int64_t(0));
  h1 = min(h1, g.in_h); w1 = min(w1, g.in_w);
  return max(h1 - h0, int64_t(0)) * max(w1 - w0, int64_t(0));
}

template <class T>
__global__ void avg_pool_kernel(Window2d g, bool include_pad, const T* __restrict__ x, T* __restrict__ out,
                                int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t ow = e % g.out_w, oh = (e / g.out_w) % g.out_h, plane = e / (g.out_w * g.out_h);
    const T* xp = x + plane * g.in_h * g.in_w;
    const int64_t h0 = max(oh * g.stride_h - g.pad_h, int64_t(0)), w0 = max(ow * g.stride_w - g.pad_w, int64_t(0));
    const int64_t h1 = min(oh * g.stride_h - g.pad_h + g.kernel_h, g.in_h);
    const int64_t w1 = min(ow * g.stride_w - g.pad_w + g.kernel_w, g.in_w);
    T s = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) s += xp[h * g.in_w + w];
    const int64_t div = avg_divisor(g, include_pad, oh, ow);
    out[e] = div > 0 ? s / T(div) : T(0);
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(Window2d g, bool include_pad, const T* __restrict__ gy,
                                         T* __restrict__ gx, int64_t n) {
  const int64_t L = g.out_h * g.out_w;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t w = e % g.in_w, h = (e / g.in_w) % g.in_h, plane = e / (g.in_w * g.in_h);
    T s = 0;
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      const int64_t th = h + g.pad_h - i;
      if (th < 0 || th % g.stride_h != 0 || th / g.stride_h >= g.out_h) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t tw = w + g.pad_w - j;
        if (tw < 0 || tw % g.stride_w != 0 || tw / g.stride_w >= g.out_w) continue;
        const int64_t oh = th / g.stride_h, ow = tw / g.stride_w;
        const int64_t div = avg_divisor(g, include_pad, oh, ow);
        if (div > 0) s += gy[plane * L + oh * g.out_w + ow] / T(div);
      }
    }
    gx[e] = s;
  }
}

// ---- launchers ----

unsigned pool_grid(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, int64_t(1) << 20)); }

void check_pool(const char* op, const View& a, const View& b) {
  if (a.dtype != b.dtype || (a.dtype != kFloat32 && a.dtype != kFloat64))
    fail(op, ": the CUDA backend needs two float32 or two float64 operands, got ", a.dtype, " and ", b.dtype);
}

template <class T>
const T* cp(const View& v) { return static_cast<const T*>(v.data); }
template <class T>
T* mp(const View& v) { return static_cast<T*>(v.data); }

}  // namespace

void launch_max_pool2d(const Window2d& g, const View& x, const View& out, const View& indices,
                       cudaStream_t stream) {
  check_pool("max_pool2d", x, out);
  const int64_t n = out.numel();
  if (n == 0) return;
  auto* idx = static_cast<int64_t*>(indices.data);
  if (x.dtype == kFloat32) max_pool_kernel<float><<<pool_grid(n), 256, 0, stream>>>(g, cp<float>(x), mp<float>(out), idx, n);
  else max_pool_kernel<double><<<pool_grid(n), 256, 0, stream>>>(g, cp<double>(x), mp<double>(out), idx, n);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_max_pool2d_backward(const Window2d& g, const View& gy, const View& indices, const View& gx,
                                cudaStream_t stream) {
  check_pool("max_pool2d_backward", gy, gx);
  const int64_t n = gx.numel();
  if (n == 0) return;
  auto* idx = static_cast<const int64_t*>(indices.data);
  if (gx.dtype == kFloat32)
    max_pool_backward_kernel<float><<<pool_grid(n), 256, 0, stream>>>(g, cp<float>(gy), idx, mp<float>(gx), n);
  else
    max_pool_backward_kernel<double><<<pool_grid(n), 256, 0, stream>>>(g, cp<double>(gy), idx, mp<double>(gx), n);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_avg_pool2d(const Window2d& g, bool include_pad, const View& x, const View& out, cudaStream_t stream) {
  check_pool("avg_pool2d", x, out);
  const int64_t n = out.numel();
  if (n == 0) return;
  if (x.dtype == kFloat32)
    avg_pool_kernel<float><<<pool_grid(n), 256, 0, stream>>>(g, include_pad, cp<float>(x), mp<float>(out), n);
  else
    avg_pool_kernel<double><<<pool_grid(n), 256, 0, stream>>>(g, include_pad, cp<double>(x), mp<double>(out), n);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_avg_pool2d_backward(const Window2d& g, bool include_pad, const View& gy, const View& gx,
                                cudaStream_t stream) {
  check_pool("avg_pool2d_backward", gy, gx);
  const int64_t n = gx.numel();
  if (n == 0) return;
  if (gx.dtype == kFloat32)
    avg_pool_backward_kernel<float><<<pool_grid(n), 256, 0, stream>>>(g, include_pad, cp<float>(gy), mp<float>(gx), n);
  else
    avg_pool_backward_kernel<double><<<pool_grid(n), 256, 0, stream>>>(g, include_pad, cp<double>(gy), mp<double>(gx), n);
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace tapeflow::backend::cuda
