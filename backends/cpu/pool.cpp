// CpuBackend max / average pooling over contiguous (N, C, H, W) tensors (see Window2d in
// backends/backend.h), forward and backward. Every loop runs in parallel over the (n, c)
// planes; the backward passes scatter within their own plane only (deterministic, no atomics).
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tapeflow::backend::cpu {

void check_window(const char* op, const Window2d& g, const View& a, const View& b);  // window.cpp

namespace {

int64_t plane_grain(const Window2d& g) {
  int64_t work = g.out_h * g.out_w * g.kernel_h * g.kernel_w + g.in_h * g.in_w;
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(work, 1));
}

// Every window inside the input (no padding reached, dilation 1): no bounds checks.
bool windows_inside(const Window2d& g) {
  return g.pad_h == 0 && g.pad_w == 0 && g.dilation_h == 1 && g.dilation_w == 1 &&
         (g.out_h - 1) * g.stride_h + g.kernel_h <= g.in_h && (g.out_w - 1) * g.stride_w + g.kernel_w <= g.in_w;
}

// v replaces best: larger, or the first NaN (it then stays).
template <class T>
inline bool takes(T v, T best) {
  return v > best || (v != v && best == best);
}

// 2x2 windows with stride 2, float32: 4 outputs of one row at a time (rows r0, r1 of the
// input; base = the flat index of r0[0] in its plane). Returns how many outputs it wrote; the
// caller finishes the row. Same rule as `takes`, lane by lane.
inline int64_t max2x2_row(const float* r0, const float* r1, int64_t n, int64_t W, int64_t base, float* o,
                          int64_t* id) {
  int64_t ow = 0;
#if defined(__SSE2__)
  for (; ow + 4 <= n; ow += 4) {
    const __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), a1 = _mm_loadu_ps(r0 + 2 * ow + 4);
    const __m128 b0 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
    // The four taps of 4 windows: even / odd columns of row 0, then of row 1.
    const __m128 v[4] = {_mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)),
                         _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1))};
    __m128 best = v[0];
    __m128i tap = _mm_setzero_si128();
    for (int k = 1; k < 4; ++k) {
      const __m128 take = _mm_or_ps(_mm_cmpgt_ps(v[k], best),
                                    _mm_and_ps(_mm_cmpunord_ps(v[k], v[k]), _mm_cmpord_ps(best, best)));
      best = _mm_or_ps(_mm_and_ps(take, v[k]), _mm_andnot_ps(take, best));
      const __m128i ti = _mm_castps_si128(take);
      tap = _mm_or_si128(_mm_and_si128(ti, _mm_set1_epi32(k)), _mm_andnot_si128(ti, tap));
    }
    _mm_storeu_ps(o + ow, best);
    // index = base + 2*(ow + k) + (tap >> 1) * W + (tap & 1), built in 32 bits (W < 2^30), then
    // widened and offset in 64 bits.
    const __m128i zero = _mm_setzero_si128();
    __m128i off = _mm_and_si128(_mm_sub_epi32(zero, _mm_srli_epi32(tap, 1)), _mm_set1_epi32(int32_t(W)));
    off = _mm_add_epi32(_mm_add_epi32(off, _mm_and_si128(tap, _mm_set1_epi32(1))), _mm_setr_epi32(0, 2, 4, 6));
    const __m128i b = _mm_set1_epi64x(base + 2 * ow);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(id + ow), _mm_add_epi64(_mm_unpacklo_epi32(off, zero), b));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(id + ow + 2), _mm_add_epi64(_mm_unpackhi_epi32(off, zero), b));
  }
#else
  (void)r0; (void)r1; (void)n; (void)W; (void)base; (void)o; (void)id;
#endif
  return ow;
}
inline int64_t max2x2_row(const double*, const double*, int64_t, int64_t, int64_t, double*, int64_t*) { return 0; }

// The backward of max2x2_row: the four inputs of each window get the gradient at the argmax and
// 0 elsewhere (rows g0, g1; base as there). Returns how many windows it did.
inline int64_t max2x2_back_row(const float* gr, const int64_t* ir, int64_t n, int64_t W, int64_t base, float* g0,
                               float* g1) {
  int64_t ow = 0;
#if defined(__SSE2__)
  for (; ow + 4 <= n; ow += 4) {
    // The argmax's offset in its window, 0, 1, W or W + 1, as the tap 0..3 (low 32 bits).
    const int64_t w0 = base + 2 * ow;
    const __m128i d01 = _mm_sub_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ir + ow)),
                                      _mm_set_epi64x(w0 + 2, w0));
    const __m128i d23 = _mm_sub_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ir + ow + 2)),
                                      _mm_set_epi64x(w0 + 6, w0 + 4));
    const __m128i d = _mm_castps_si128(
        _mm_shuffle_ps(_mm_castsi128_ps(d01), _mm_castsi128_ps(d23), _MM_SHUFFLE(2, 0, 2, 0)));
    const __m128i second_row = _mm_cmpgt_epi32(d, _mm_set1_epi32(int32_t(W - 1)));
    const __m128i tv = _mm_sub_epi32(d, _mm_and_si128(second_row, _mm_set1_epi32(int32_t(W - 2))));
    const __m128 v = _mm_loadu_ps(gr + ow);
    __m128 s[4];
    for (int k = 0; k < 4; ++k) s[k] = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(tv, _mm_set1_epi32(k))), v);
    _mm_storeu_ps(g0 + 2 * ow, _mm_unpacklo_ps(s[0], s[1]));
    _mm_storeu_ps(g0 + 2 * ow + 4, _mm_unpackhi_ps(s[0], s[1]));
    _mm_storeu_ps(g1 + 2 * ow, _mm_unpacklo_ps(s[2], s[3]));
    _mm_storeu_ps(g1 + 2 * ow + 4, _mm_unpackhi_ps(s[2], s[3]));
  }
#else
  (void)gr; (void)ir; (void)n; (void)W; (void)base; (void)g0; (void)g1;
#endif
  return ow;
}
inline int64_t max2x2_back_row(const double*, const int64_t*, int64_t, int64_t, int64_t, double*, double*) {
  return 0;
}

// max_pool_kernel for windows inside the input; 2x2 windows unrolled.
template <class T>
void max_pool_inside(const Window2d& g, const T* x, T* out, int64_t* idx) {
  const int64_t HW = g.in_h * g.in_w, L = g.out_h * g.out_w, W = g.in_w;
  parallel_for(0, g.batch * g.channels, plane_grain(g), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * HW;
      T* op = out + p * L;
      int64_t* ip = idx + p * L;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t h0 = oh * g.stride_h;
        const T* r0 = xp + h0 * W;
        T* o = op + oh * g.out_w;
        int64_t* id = ip + oh * g.out_w;
        if (g.kernel_h == 2 && g.kernel_w == 2) {
          const T* r1 = r0 + W;
          const bool sse = g.stride_w == 2 && W < (int64_t(1) << 30);
          const int64_t done = sse ? max2x2_row(r0, r1, g.out_w, W, h0 * W, o, id) : 0;
          for (int64_t ow = done; ow < g.out_w; ++ow) {
            const int64_t w0 = ow * g.stride_w;
            T best = r0[w0];
            int64_t at = h0 * W + w0;
            if (takes(r0[w0 + 1], best)) { best = r0[w0 + 1]; at = h0 * W + w0 + 1; }
            if (takes(r1[w0], best)) { best = r1[w0]; at = (h0 + 1) * W + w0; }
            if (takes(r1[w0 + 1], best)) { best = r1[w0 + 1]; at = (h0 + 1) * W + w0 + 1; }
            o[ow] = best;
            id[ow] = at;
          }
          continue;
        }
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t w0 = ow * g.stride_w;
          T best = r0[w0];
          int64_t at = h0 * W + w0;
          for (int64_t i = 0; i < g.kernel_h; ++i) {
            const T* r = r0 + i * W;
            for (int64_t j = 0; j < g.kernel_w; ++j)
              if (takes(r[w0 + j], best)) { best = r[w0 + j]; at = (h0 + i) * W + w0 + j; }
          }
          o[ow] = best;
          id[ow] = at;
        }
      }
    }
  });
}

template <class T>
void max_pool_kernel(const Window2d& g, const T* x, T* out, int64_t* idx) {
  if (windows_inside(g)) return max_pool_inside(g, x, out, idx);
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
  if (windows_inside(g) && g.stride_h == g.kernel_h && g.stride_w == g.kernel_w) {
    // Windows tile the input without overlap: every covered element is written once (the
    // gradient at its window's argmax, 0 elsewhere) and the uncovered right / bottom edge is
    // cleared; no zero pass before the scatter. (The indices come from max_pool2d on this
    // geometry, so each lies in its own window.)
    const int64_t W = g.in_w, cw = g.out_w * g.kernel_w, ch = g.out_h * g.kernel_h;
    parallel_for(0, g.batch * g.channels, plane_grain(g), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        T* gp = gx + p * HW;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t h0 = oh * g.kernel_h;
          const int64_t* ir = idx + p * L + oh * g.out_w;
          const T* gr = gy + p * L + oh * g.out_w;
          const int64_t done = g.kernel_h == 2 && g.kernel_w == 2 && W < (int64_t(1) << 30)
                                   ? max2x2_back_row(gr, ir, g.out_w, W, h0 * W, gp + h0 * W, gp + (h0 + 1) * W)
                                   : 0;
          for (int64_t ow = done; ow < g.out_w; ++ow) {
            const int64_t at = ir[ow], w0 = ow * g.kernel_w;
            const T v = gr[ow];
            for (int64_t i = 0; i < g.kernel_h; ++i) {
              const int64_t base = (h0 + i) * W + w0;
              for (int64_t j = 0; j < g.kernel_w; ++j) gp[base + j] = base + j == at ? v : T(0);
            }
          }
          for (int64_t i = 0; i < g.kernel_h; ++i) std::fill(gp + (h0 + i) * W + cw, gp + (h0 + i + 1) * W, T(0));
        }
        std::fill(gp + ch * W, gp + HW, T(0));
      }
    });
    return;
  }
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
