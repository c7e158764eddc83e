// Fused CpuBackend::softmax / softmax_backward over any axis: one pass per line (all dims but
// `axis`), numerically stable (the line's max is subtracted before exp), sums in double.
// Float32 exponentials use the vectorised exp of vec_math.cpp. Lines that are not contiguous
// along the axis are staged through a per-chunk buffer.
#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/reduce_ops.h"
#include "backends/cpu/vec_math.h"

namespace tapeflow::backend::cpu {
namespace {

// Lines of up to three views: the dims other than `axis`, coalesced.
struct Lines3 {
  int rank = 0;
  int64_t shape[kMaxDims], st[3][kMaxDims];  // first `rank` entries used
  int64_t count = 1;
};
Lines3 lines3(const View& a, const View& b, const View& c, int axis) {
  Lines3 L;
  for (int d = 0; d < a.rank; ++d) {
    if (d == axis) continue;
    L.shape[L.rank] = a.shape[d];
    L.st[0][L.rank] = a.strides[d];
    L.st[1][L.rank] = b.strides[d];
    L.st[2][L.rank++] = c.strides[d];
    L.count *= a.shape[d];
  }
  coalesce_dims<3>(L.rank, L.shape, L.st);
  return L;
}

// y = exp(x - shift) over a contiguous row; returns sum(y) in double.
template <class T>
double exp_shift_sum(const T* x, T* y, int64_t n, T shift) {
  if constexpr (std::is_same_v<T, float>) return vec_exp_shift_sum_f32(x, y, n, shift);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) { y[i] = std::exp(x[i] - shift); s += y[i]; }
  return s;
}

// Softmax of one contiguous row x into contiguous y (y may not alias x).
template <class T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  const T m = reduce_run<Red<ReduceOp::Max, T>>(x, n, 1);  // NaN propagates
  double s = exp_shift_sum(x, y, n, m);
  if (log) {
    const T ls = T(std::log(s));
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
  } else {
    const T inv = T(1.0 / s);
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

// Softmax of `rows` short contiguous rows of n (x rows n apart, y rows n apart; y may not
// alias x): per-row overheads (a max reduction, an exp call, a log) dominate rows this short
// (the logits of a classifier), so the shifted values of a block of rows go through one
// vectorised exp. Each element gets the bits softmax_row gives it; the row sums (in double)
// are added in another order.
#if defined(__x86_64__)
#pragma GCC diagnostic push  // GCC 12's _mm512_reduce_add_pd reads a deliberately undefined vector
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// softmax_short_rows for float32 rows of n <= 16 with AVX-512: each row is one masked vector
// (its max, its shift, its double sum and the final pass without a scalar loop); the same
// values as the scalar loops but for the order of the double sum.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
void softmax_rows16_avx512(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  constexpr int64_t kRows = 64;
  const __mmask16 k = __mmask16((1u << n) - 1u);
  float mx[kRows];
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    const int64_t nr = std::min(kRows, rows - r0);
    const float* xb = x + r0 * n;
    float* yb = y + r0 * n;
    for (int64_t r = 0; r < nr; ++r) {
      __m512 v = _mm512_maskz_loadu_ps(k, xb + r * n);
      const bool nan = _mm512_mask_cmp_ps_mask(k, v, v, _CMP_UNORD_Q) != 0;  // NaN propagates
      mx[r] = nan ? NAN : _mm512_mask_reduce_max_ps(k, v);
      _mm512_mask_storeu_ps(yb + r * n, k, _mm512_sub_ps(v, _mm512_set1_ps(mx[r])));
    }
    vec_exp_f32(yb, yb, nr * n);
    double sum[kRows];
    for (int64_t r = 0; r < nr; ++r) {
      __m512 e = _mm512_maskz_loadu_ps(k, yb + r * n);
      sum[r] = _mm512_reduce_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(e))) +
               _mm512_reduce_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    float by[kRows];  // log(sum) or 1 / sum, the rows' logs in one loop of their own
    for (int64_t r = 0; r < nr; ++r) by[r] = log ? float(std::log(sum[r])) : float(1.0 / sum[r]);
    for (int64_t r = 0; r < nr; ++r) {
      __m512 out;
      if (log) {
        __m512 v = _mm512_maskz_loadu_ps(k, xb + r * n);
        out = _mm512_sub_ps(_mm512_sub_ps(v, _mm512_set1_ps(mx[r])), _mm512_set1_ps(by[r]));
      } else {
        out = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, yb + r * n), _mm512_set1_ps(by[r]));
      }
      _mm512_mask_storeu_ps(yb + r * n, k, out);
    }
  }
}
#pragma GCC diagnostic pop
#endif

template <class T>
void softmax_short_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
#if defined(__x86_64__)
  if constexpr (std::is_same_v<T, float>)
    if (n <= 16 && vec_math_isa() == VecIsa::Avx512) return softmax_rows16_avx512(x, y, rows, n, log);
#endif
  constexpr int64_t kRows = 64;
  T mx[kRows];
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    const int64_t nr = std::min(kRows, rows - r0);
    const T* xb = x + r0 * n;
    T* yb = y + r0 * n;
    for (int64_t r = 0; r < nr; ++r) {
      const T* xr = xb + r * n;
      T m = xr[0];
      for (int64_t i = 1; i < n; ++i) m = (xr[i] > m || xr[i] != xr[i]) ? xr[i] : m;  // NaN propagates
      mx[r] = m;
      for (int64_t i = 0; i < n; ++i) yb[r * n + i] = xr[i] - m;
    }
    if constexpr (std::is_same_v<T, float>) vec_exp_f32(yb, yb, nr * n);
    else for (int64_t i = 0; i < nr * n; ++i) yb[i] = std::exp(yb[i]);
    for (int64_t r = 0; r < nr; ++r) {
      const T* xr = xb + r * n;
      T* yr = yb + r * n;
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += double(yr[i]);
      if (log) {
        const T ls = T(std::log(s)), m = mx[r];
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) - ls;
      } else {
        const T inv = T(1.0 / s);
        for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
      }
    }
  }
}

template <class T>
void softmax_kernel(const View& x, int axis, bool log, const View& out) {
  const T* xp = static_cast<const T*>(x.data);
  T* op_ = static_cast<T*>(out.data);
  Lines3 L = lines3(x, out, out, axis);
  const int64_t n = x.shape[axis], sx = x.strides[axis], so = out.strides[axis];
  const bool short_rows = n >= 1 && n <= 32 && sx == 1 && so == 1 && L.rank == 1 && L.st[0][0] == n && L.st[1][0] == n;
  parallel_for(0, L.count, n >= kGrain ? 1 : kGrain / n, [&](int64_t j0, int64_t j1) {
    if (short_rows) return softmax_short_rows(xp + j0 * n, op_ + j0 * n, j1 - j0, n, log);
    std::vector<T> xb, yb;
    if (sx != 1 || so != 1) { xb.resize(size_t(n)); yb.resize(size_t(n)); }
    Walker<3> w(L.rank, L.shape, L.st, j0);
    for (int64_t j = j0; j < j1; ++j, w.next()) {
      const T* xr = xp + w.off[0];
      T* yr = op_ + w.off[1];
      if (sx == 1 && so == 1) { softmax_row(xr, yr, n, log); continue; }
      for (int64_t i = 0; i < n; ++i) xb[size_t(i)] = xr[i * sx];
      softmax_row(xb.data(), yb.data(), n, log);
      for (int64_t i = 0; i < n; ++i) yr[i * so] = yb[size_t(i)];
    }
  });
}

template <class T>
void softmax_backward_kernel(const View& y, const View& gy, int axis, bool log, const View& gx) {
  const T* yp = static_cast<const T*>(y.data);
  const T* gp = static_cast<const T*>(gy.data);
  T* xp = static_cast<T*>(gx.data);
  Lines3 L = lines3(y, gy, gx, axis);
  const int64_t n = y.shape[axis], sy = y.strides[axis], sg = gy.strides[axis], sx = gx.strides[axis];
  parallel_for(0, L.count, n >= kGrain ? 1 : kGrain / n, [&](int64_t j0, int64_t j1) {
    std::vector<T> eb(log ? size_t(n) : 0);
    Walker<3> w(L.rank, L.shape, L.st, j0);
    for (int64_t j = j0; j < j1; ++j, w.next()) {
      const T* yr = yp + w.off[0];
      const T* gr = gp + w.off[1];
      T* xr = xp + w.off[2];
      double s = 0;
      if (log) {  // gx = gy - exp(y) * sum(gy)
        for (int64_t i = 0; i < n; ++i) { eb[size_t(i)] = yr[i * sy]; s += double(gr[i * sg]); }
        if constexpr (std::is_same_v<T, float>) vec_exp_f32(eb.data(), eb.data(), n);
        else for (auto& v : eb) v = std::exp(v);
        const T st = T(s);
        for (int64_t i = 0; i < n; ++i) xr[i * sx] = gr[i * sg] - eb[size_t(i)] * st;
      } else {    // gx = y * (gy - sum(gy * y))
        for (int64_t i = 0; i < n; ++i) s += double(gr[i * sg]) * double(yr[i * sy]);
        const T st = T(s);
        for (int64_t i = 0; i < n; ++i) xr[i * sx] = yr[i * sy] * (gr[i * sg] - st);
      }
    }
  });
}

void check_softmax(const char* op, const View& a, int axis, const View& b) {
  if (axis < 0 || axis >= a.rank) fail_index(op, ": axis ", axis, " out of range for rank ", a.rank);
  if (!is_floating(a.dtype)) fail(op, ": expected a float tensor, got ", dtype_str(a.dtype));
  bool ok = a.rank == b.rank && a.dtype == b.dtype;
  for (int d = 0; ok && d < a.rank; ++d) ok = a.shape[d] == b.shape[d];
  if (!ok) fail(op, ": operands differ in shape or dtype");
}

}  // namespace

void CpuBackend::softmax(const View& x, int axis, bool log, const View& out) {
  const char* op = log ? "log_softmax" : "softmax";
  check_softmax(op, x, axis, out);
  if (out.numel() == 0) return;
  if (x.dtype == DType::Float32) softmax_kernel<float>(x, axis, log, out);
  else softmax_kernel<double>(x, axis, log, out);
}

void CpuBackend::softmax_backward(const View& y, const View& gy, int axis, bool log, const View& gx) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  check_softmax(op, y, axis, gy);
  check_softmax(op, y, axis, gx);
  if (gx.numel() == 0) return;
  if (y.dtype == DType::Float32) softmax_backward_kernel<float>(y, gy, axis, log, gx);
  else softmax_backward_kernel<double>(y, gy, axis, log, gx);
}

}  // namespace tapeflow::backend::cpu
