// CpuBackend max / average pooling over contiguous (N, C, H, W) tensors (see Window2d in
// backends/backend.h), forward and backward. Every loop runs in parallel over the (n, c)
// planes; the backward passes scatter within their own plane only (deterministic, no atomics).
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {

void check_window(const char* op, const Window2d& g, const View& a, const View& b);  // window.cpp

namespace {

int64_t plane_grain(const Window2d& g) {
  int64_t work = g.out_h * g.out_w * g.kernel_h * g.kernel_w + g.in_h * g.in_w;
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(work, 1));
}

template <class T>
void max_pool_kernel(const Window2d& g, const T* x, T* out, int64_t* idx) {
  const int64_t HW = g.in_h * g.in_w, L = g.out_h * g.out_w;
  parallel_for(0, g.batch * g.channels, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * HW;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          T best = -INFINITY;
          int64_t at = -1;
          for (int64_t i = 0; i < g.kernel_h; ++i) {
            const int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
            if (h < 0 || h >= g.in_h) continue;
            for (int64_t j = 0; j < g.kernel_w; ++j) {
              const int64_t w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
              if (w < 0 || w >= g.in_w) continue;
              const T v = xp[h * g.in_w + w];
              if (at < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                best = v;
                at = h * g.in_w + w;
              }
            }
          }
          out[p * L + oh * g.out_w + ow] = best;
          idx[p * L + oh * g.out_w + ow] = at;
        }
    }
  });
}

template <class T>
void max_pool_backward_kernel(const Window2d& g, const T* gy, const int64_t* idx, T* gx) {
  const int64_t HW = g.in_h * g.in_w, L = g.out_h * g.out_w;
  parallel_for(0, g.batch * g.channels, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = gx + p * HW;
      std::fill(gp, gp + HW, T(0));
      for (int64_t o = 0; o < L; ++o) {
        const int64_t at = idx[p * L + o];
        if (at >= 0 && at < HW) gp[at] += gy[p * L + o];
      }
    }
  });
}

// The window of (oh, ow) clipped to the input, and its divisor.
struct AvgWin {
  int64_t h0, h1, w0, w1;
  double div;
};
inline AvgWin avg_window(const Window2d& g, bool include_pad, int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  int64_t h1 = std::min(h0 + g.kernel_h, g.in_h + g.pad_h), w1 = std::min(w0 + g.kernel_w, g.in_w + g.pad_w);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.in_h);
  w1 = std::min(w1, g.in_w);
  const int64_t inside = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
  return {h0, h1, w0, w1, double(include_pad ? padded : inside)};
}

template <class T>
void avg_pool_kernel(const Window2d& g, bool include_pad, const T* x, T* out) {
  const int64_t HW = g.in_h * g.in_w, L = g.out_h * g.out_w;
  parallel_for(0, g.batch * g.channels, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * HW;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgWin a = avg_window(g, include_pad, oh, ow);
          T s = 0;
          for (int64_t h = a.h0; h < a.h1; ++h)
            for (int64_t w = a.w0; w < a.w1; ++w) s += xp[h * g.in_w + w];
          out[p * L + oh * g.out_w + ow] = a.div > 0 ? T(s / T(a.div)) : T(0);
        }
    }
  });
}

template <class T>
void avg_pool_backward_kernel(const Window2d& g, bool include_pad, const T* gy, T* gx) {
  const int64_t HW = g.in_h * g.in_w, L = g.out_h * g.out_w;
  parallel_for(0, g.batch * g.channels, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = gx + p * HW;
      std::fill(gp, gp + HW, T(0));
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgWin a = avg_window(g, include_pad, oh, ow);
          if (!(a.div > 0)) continue;
          const T v = T(gy[p * L + oh * g.out_w + ow] / T(a.div));
          for (int64_t h = a.h0; h < a.h1; ++h)
            for (int64_t w = a.w0; w < a.w1; ++w) gp[h * g.in_w + w] += v;
        }
    }
  });
}

void check_indices(const char* op, const View& idx, const View& pooled) {
  if (idx.dtype != DType::Int64 || !idx.is_contiguous() || idx.numel() != pooled.numel())
    fail(op, ": indices must be a contiguous int64 tensor of the pooled output's size");
}

}  // namespace

void CpuBackend::max_pool2d(const Window2d& g, const View& x, const View& out, const View& indices) {
  check_window("max_pool2d", g, x, out);
  check_indices("max_pool2d", indices, out);
  if (out.numel() == 0) return;
  auto* idx = static_cast<int64_t*>(indices.data);
  if (x.dtype == DType::Float32) max_pool_kernel(g, static_cast<const float*>(x.data), static_cast<float*>(out.data), idx);
  else max_pool_kernel(g, static_cast<const double*>(x.data), static_cast<double*>(out.data), idx);
}

void CpuBackend::max_pool2d_backward(const Window2d& g, const View& gy, const View& indices, const View& gx) {
  check_window("max_pool2d_backward", g, gy, gx);
  check_indices("max_pool2d_backward", indices, gy);
  if (gx.numel() == 0) return;
  auto* idx = static_cast<const int64_t*>(indices.data);
  if (gx.dtype == DType::Float32) max_pool_backward_kernel(g, static_cast<const float*>(gy.data), idx, static_cast<float*>(gx.data));
  else max_pool_backward_kernel(g, static_cast<const double*>(gy.data), idx, static_cast<double*>(gx.data));
}

void CpuBackend::avg_pool2d(const Window2d& g, bool include_pad, const View& x, const View& out) {
  check_window("avg_pool2d", g, x, out);
  if (out.numel() == 0) return;
  if (x.dtype == DType::Float32) avg_pool_kernel(g, include_pad, static_cast<const float*>(x.data), static_cast<float*>(out.data));
  else avg_pool_kernel(g, include_pad, static_cast<const double*>(x.data), static_cast<double*>(out.data));
}

void CpuBackend::avg_pool2d_backward(const Window2d& g, bool include_pad, const View& gy, const View& gx) {
  check_window("avg_pool2d_backward", g, gy, gx);
  if (gx.numel() == 0) return;
  if (gx.dtype == DType::Float32) avg_pool_backward_kernel(g, include_pad, static_cast<const float*>(gy.data), static_cast<float*>(gx.data));
  else avg_pool_backward_kernel(g, include_pad, static_cast<const double*>(gy.data), static_cast<double*>(gx.data));
}

}  // namespace tapeflow::backend::cpu
