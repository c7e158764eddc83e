// CpuBackend::im2col / col2im (convolution, unfold, fold): contiguous (N, C, H, W) images and
// (N, C*kh*kw, out_h*out_w) column matrices, see Window2d in backends/backend.h. im2col runs in
// parallel over the rows of the column matrix, col2im over the (n, c) planes of the image, so
// no two chunks ever write the same element (deterministic, no atomics).
#include <algorithm>
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {
namespace {

// The window columns ow in [lo, hi) whose tap at input offset `off` (= -pad + j*dilation)
// lands inside [0, size): lo = ceil(-off / stride), hi = floor((size - 1 - off) / stride) + 1.
inline void valid_range(int64_t off, int64_t stride, int64_t size, int64_t out, int64_t& lo,
                        int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t last = size - 1 - off;
  hi = last < 0 ? 0 : last / stride + 1;
  lo = std::min(lo, out);
  hi = std::min(std::max(hi, lo), out);
}

template <class T>
void im2col_kernel(const Window2d& g, const T* x, T* cols) {
  const int64_t kk = g.kernel_h * g.kernel_w, L = g.out_h * g.out_w;
  const int64_t rows = g.batch * g.channels * kk;
  parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t plane = r / kk, tap = r % kk, i = tap / g.kernel_w, j = tap % g.kernel_w;
      const T* xp = x + plane * g.in_h * g.in_w;
      T* out = cols + r * L;
      int64_t lo, hi;
      valid_range(j * g.dilation_w - g.pad_w, g.stride_w, g.in_w, g.out_w, lo, hi);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        T* o = out + oh * g.out_w;
        const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
        if (h < 0 || h >= g.in_h) {
          std::fill(o, o + g.out_w, T(0));
          continue;
        }
        const T* row = xp + h * g.in_w + j * g.dilation_w - g.pad_w;
        std::fill(o, o + lo, T(0));
        if (g.stride_w == 1) std::memcpy(o + lo, row + lo, size_t(hi - lo) * sizeof(T));
        else for (int64_t ow = lo; ow < hi; ++ow) o[ow] = row[ow * g.stride_w];
        std::fill(o + hi, o + g.out_w, T(0));
      }
    }
  });
}

template <class T>
void col2im_kernel(const Window2d& g, const T* cols, T* x) {
  const int64_t kk = g.kernel_h * g.kernel_w, L = g.out_h * g.out_w, HW = g.in_h * g.in_w;
  const int64_t planes = g.batch * g.channels;
  parallel_for(0, planes, std::max<int64_t>(1, kGrain / std::max<int64_t>(kk * L, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* xp = x + p * HW;
      std::fill(xp, xp + HW, T(0));
      for (int64_t tap = 0; tap < kk; ++tap) {
        const int64_t i = tap / g.kernel_w, j = tap % g.kernel_w;
        const T* c = cols + (p * kk + tap) * L;
        int64_t lo, hi;
        valid_range(j * g.dilation_w - g.pad_w, g.stride_w, g.in_w, g.out_w, lo, hi);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
          if (h < 0 || h >= g.in_h) continue;
          T* row = xp + h * g.in_w + j * g.dilation_w - g.pad_w;
          const T* cr = c + oh * g.out_w;
          for (int64_t ow = lo; ow < hi; ++ow) row[ow * g.stride_w] += cr[ow];
        }
      }
    }
  });
}

}  // namespace

void check_window(const char* op, const Window2d& g, const View& a, const View& b) {
  if (a.dtype != b.dtype || !is_floating(a.dtype))
    fail(op, ": expected two float tensors of one dtype, got ", dtype_str(a.dtype), " and ", dtype_str(b.dtype));
  if (!a.is_contiguous() || !b.is_contiguous()) fail(op, ": operands must be contiguous");
  if (g.kernel_h < 1 || g.kernel_w < 1 || g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 ||
      g.dilation_w < 1 || g.out_h < 0 || g.out_w < 0)
    fail(op, ": invalid window geometry");
}

void CpuBackend::im2col(const Window2d& g, const View& x, const View& cols) {
  check_window("im2col", g, x, cols);
  if (cols.numel() == 0) return;
  if (x.dtype == DType::Float32) im2col_kernel(g, static_cast<const float*>(x.data), static_cast<float*>(cols.data));
  else im2col_kernel(g, static_cast<const double*>(x.data), static_cast<double*>(cols.data));
}

void CpuBackend::col2im(const Window2d& g, const View& cols, const View& x) {
  check_window("col2im", g, cols, x);
  if (x.numel() == 0) return;
  if (x.dtype == DType::Float32) col2im_kernel(g, static_cast<const float*>(cols.data), static_cast<float*>(x.data));
  else col2im_kernel(g, static_cast<const double*>(cols.data), static_cast<double*>(x.data));
}

}  // namespace tapeflow::backend::cpu
