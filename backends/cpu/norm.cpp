// Fused CpuBackend batch norm and layer norm kernels, forward and backward (see backend.h's
// "normalisation, embedding, sorting" block). Statistics in double, two passes (mean, then
// centred squares), so float32 inputs with a large mean keep their variance. Threads split
// channels (batch norm statistics), planes (element-wise passes), rows (layer norm) or column
// blocks (layer norm's weight / bias gradients).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {
namespace {

template <class T> const T* cp(const View& v) { return static_cast<const T*>(v.data); }
template <class T> T* mp(const View& v) { return static_cast<T*>(v.data); }
template <class T> T at_or(const View& v, int64_t i, T dflt) { return v.data ? cp<T>(v)[i] : dflt; }

int64_t grain_for(int64_t work_per_item) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_item)); }

template <class T>
void bn_stats(const View& x, const View& mean, const View& var) {
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
  const T* xp = cp<T>(x);
  parallel_for(0, C, grain_for(N * S), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* r = xp + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) s += double(r[i]);
      }
      const double m = s / double(N * S);
      double q = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* r = xp + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) { double d = double(r[i]) - m; q += d * d; }
      }
      mp<T>(mean)[c] = T(m);
      mp<T>(var)[c] = T(q / double(N * S));
    }
  });
}

template <class T>
void bn_forward(const View& x, const View& mean, const View& invstd, const View& w, const View& b,
                const View& out) {
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
  const T* xp = cp<T>(x);
  T* op = mp<T>(out);
  parallel_for(0, N * C, grain_for(S), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % C;
      const T scale = cp<T>(invstd)[c] * at_or<T>(w, c, T(1));
      const T shift = at_or<T>(b, c, T(0)) - cp<T>(mean)[c] * scale;
      const T* r = xp + p * S;
      T* o = op + p * S;
      for (int64_t i = 0; i < S; ++i) o[i] = r[i] * scale + shift;
    }
  });
}

template <class T>
void bn_backward(const View& x, const View& gy, const View& mean, const View& invstd, const View& w,
                 bool training, const View& gx, const View& gw, const View& gb) {
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
  const T* xp = cp<T>(x);
  const T* gp = cp<T>(gy);
  std::vector<double> sum_g(static_cast<size_t>(C)), sum_gx(static_cast<size_t>(C));  // sum(gy), sum(gy * xhat)
  parallel_for(0, C, grain_for(N * S), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const double m = double(cp<T>(mean)[c]), is = double(cp<T>(invstd)[c]);
      double sg = 0, sgx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* r = xp + (n * C + c) * S;
        const T* g = gp + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) { sg += double(g[i]); sgx += double(g[i]) * (double(r[i]) - m); }
      }
      sum_g[size_t(c)] = sg;
      sum_gx[size_t(c)] = sgx * is;
      if (gw.data) mp<T>(gw)[c] = T(sgx * is);
      if (gb.data) mp<T>(gb)[c] = T(sg);
    }
  });
  if (!gx.data) return;
  const double M = double(N * S);
  parallel_for(0, N * C, grain_for(S), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % C;
      const double is = double(cp<T>(invstd)[c]), m = double(cp<T>(mean)[c]);
      const double k = is * double(at_or<T>(w, c, T(1)));
      const T* r = xp + p * S;
      const T* g = gp + p * S;
      T* o = mp<T>(gx) + p * S;
      if (!training) {
        for (int64_t i = 0; i < S; ++i) o[i] = T(double(g[i]) * k);
        continue;
      }
      const double mg = sum_g[size_t(c)] / M, mgx = sum_gx[size_t(c)] / M;
      for (int64_t i = 0; i < S; ++i) {
        const double xh = (double(r[i]) - m) * is;
        o[i] = T(k * (double(g[i]) - mg - xh * mgx));
      }
    }
  });
}

template <class T>
void ln_forward(const View& x, const View& w, const View& b, double eps, const View& out,
                const View& mean, const View& rstd) {
  const int64_t M = x.shape[0], K = x.shape[1];
  parallel_for(0, M, grain_for(K), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const T* r = cp<T>(x) + m * K;
      T* o = mp<T>(out) + m * K;
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += double(r[k]);
      const double mu = s / double(K);
      double q = 0;
      for (int64_t k = 0; k < K; ++k) { double d = double(r[k]) - mu; q += d * d; }
      const double rs = 1.0 / std::sqrt(q / double(K) + eps);
      mp<T>(mean)[m] = T(mu);
      mp<T>(rstd)[m] = T(rs);
      for (int64_t k = 0; k < K; ++k)
        o[k] = T((double(r[k]) - mu) * rs * double(at_or<T>(w, k, T(1))) + double(at_or<T>(b, k, T(0))));
    }
  });
}

template <class T>
void ln_backward(const View& x, const View& gy, const View& mean, const View& rstd, const View& w,
                 const View& gx, const View& gw, const View& gb) {
  const int64_t M = x.shape[0], K = x.shape[1];
  if (gx.data)
    parallel_for(0, M, grain_for(K), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        const T* r = cp<T>(x) + m * K;
        const T* g = cp<T>(gy) + m * K;
        T* o = mp<T>(gx) + m * K;
        const double mu = double(cp<T>(mean)[m]), rs = double(cp<T>(rstd)[m]);
        double sg = 0, sgx = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double gk = double(g[k]) * double(at_or<T>(w, k, T(1)));
          sg += gk;
          sgx += gk * (double(r[k]) - mu) * rs;
        }
        sg /= double(K);
        sgx /= double(K);
        for (int64_t k = 0; k < K; ++k) {
          const double gk = double(g[k]) * double(at_or<T>(w, k, T(1)));
          o[k] = T(rs * (gk - sg - (double(r[k]) - mu) * rs * sgx));
        }
      }
    });
  if (!gw.data && !gb.data) return;
  constexpr int64_t kBlock = 64;
  parallel_for(0, (K + kBlock - 1) / kBlock, grain_for(M * kBlock), [&](int64_t b0, int64_t b1) {
    double aw[kBlock], ab[kBlock];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t k0 = blk * kBlock, k1 = std::min(K, k0 + kBlock);
      std::fill(aw, aw + kBlock, 0.0);
      std::fill(ab, ab + kBlock, 0.0);
      for (int64_t m = 0; m < M; ++m) {
        const T* r = cp<T>(x) + m * K;
        const T* g = cp<T>(gy) + m * K;
        const double mu = double(cp<T>(mean)[m]), rs = double(cp<T>(rstd)[m]);
        for (int64_t k = k0; k < k1; ++k) {
          aw[k - k0] += double(g[k]) * (double(r[k]) - mu) * rs;
          ab[k - k0] += double(g[k]);
        }
      }
      for (int64_t k = k0; k < k1; ++k) {
        if (gw.data) mp<T>(gw)[k] = T(aw[k - k0]);
        if (gb.data) mp<T>(gb)[k] = T(ab[k - k0]);
      }
    }
  });
}

}  // namespace

#define TF_FLOAT_DISPATCH(dt, CALL)                      \
  do {                                                   \
    if ((dt) == kFloat64) { using T = double; CALL; }    \
    else { using T = float; CALL; }                      \
  } while (0)

void CpuBackend::batch_norm_stats(const View& x, const View& mean, const View& var) {
  TF_FLOAT_DISPATCH(x.dtype, bn_stats<T>(x, mean, var));
}
void CpuBackend::batch_norm_forward(const View& x, const View& mean, const View& invstd,
                                    const View& weight, const View& bias, const View& out) {
  TF_FLOAT_DISPATCH(x.dtype, bn_forward<T>(x, mean, invstd, weight, bias, out));
}
void CpuBackend::batch_norm_backward(const View& x, const View& gy, const View& mean,
                                     const View& invstd, const View& weight, bool training,
                                     const View& gx, const View& gweight, const View& gbias) {
  TF_FLOAT_DISPATCH(x.dtype, bn_backward<T>(x, gy, mean, invstd, weight, training, gx, gweight, gbias));
}
void CpuBackend::layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                                    const View& out, const View& mean, const View& rstd) {
  TF_FLOAT_DISPATCH(x.dtype, ln_forward<T>(x, weight, bias, eps, out, mean, rstd));
}
void CpuBackend::layer_norm_backward(const View& x, const View& gy, const View& mean,
                                     const View& rstd, const View& weight, const View& gx,
                                     const View& gweight, const View& gbias) {
  TF_FLOAT_DISPATCH(x.dtype, ln_backward<T>(x, gy, mean, rstd, weight, gx, gweight, gbias));
}
#undef TF_FLOAT_DISPATCH

}  // namespace tapeflow::backend::cpu
