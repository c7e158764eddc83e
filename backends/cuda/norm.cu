// Batch norm, layer norm and the LSTM gate update on CUDA (see backend.h's "normalisation,
// embedding, sorting" block); contiguous float32 / float64 operands. Statistics in double:
// one block per channel (batch norm) or per row (layer norm) with a shared-memory tree
// reduction, two passes (mean, then centred squares). Element-wise passes use grid-stride loops.
#include <algorithm>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

// ---- kernels ----

constexpr int kThreads = 256;

// Sum of v over the block (every thread gets it). `sh` has kThreads doubles.
__device__ double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();
  return r;
}

template <class T>
__device__ T get_or(const T* p, int64_t i, T d) { return p ? p[i] : d; }

// One block per channel c: mean and biased variance over (N, S).
template <class T>
__global__ void bn_stats_kernel(const T* __restrict__ x, T* mean, T* var, int64_t N, int64_t C, int64_t S) {
  __shared__ double sh[kThreads];
  const int64_t c = blockIdx.x, M = N * S;
  double s = 0;
  for (int64_t e = threadIdx.x; e < M; e += kThreads) s += double(x[((e / S) * C + c) * S + e % S]);
  const double m = block_sum(s, sh) / double(M);
  double q = 0;
  for (int64_t e = threadIdx.x; e < M; e += kThreads) {
    const double d = double(x[((e / S) * C + c) * S + e % S]) - m;
    q += d * d;
  }
  q = block_sum(q, sh);
  if (threadIdx.x == 0) { mean[c] = T(m); var[c] = T(q / double(M)); }
}

template <class T>
__global__ void bn_forward_kernel(const T* __restrict__ x, const T* mean, const T* invstd, const T* w, const T* b,
                                  T* __restrict__ out, int64_t C, int64_t S, int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t c = (e / S) % C;
    const T scale = invstd[c] * get_or(w, c, T(1));
    out[e] = (x[e] - mean[c]) * scale + get_or(b, c, T(0));
  }
}

// One block per channel: sum(gy) and sum(gy * xhat) into sums[2c], sums[2c + 1] (double).
template <class T>
__global__ void bn_sums_kernel(const T* __restrict__ x, const T* __restrict__ gy, const T* mean, const T* invstd,
                               double* sums, T* gw, T* gb, int64_t N, int64_t C, int64_t S) {
  __shared__ double sh[kThreads];
  const int64_t c = blockIdx.x, M = N * S;
  const double m = double(mean[c]), is = double(invstd[c]);
  double sg = 0, sgx = 0;
  for (int64_t e = threadIdx.x; e < M; e += kThreads) {
    const int64_t at = ((e / S) * C + c) * S + e % S;
    sg += double(gy[at]);
    sgx += double(gy[at]) * (double(x[at]) - m) * is;
  }
  sg = block_sum(sg, sh);
  sgx = block_sum(sgx, sh);
  if (threadIdx.x == 0) {
    sums[2 * c] = sg;
    sums[2 * c + 1] = sgx;
    if (gw) gw[c] = T(sgx);
    if (gb) gb[c] = T(sg);
  }
}

template <class T>
__global__ void bn_backward_kernel(const T* __restrict__ x, const T* __restrict__ gy, const T* mean, const T* invstd,
                                   const T* w, const double* sums, bool training, T* __restrict__ gx, int64_t C,
                                   int64_t S, int64_t M, int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t c = (e / S) % C;
    const double is = double(invstd[c]), k = is * double(get_or(w, c, T(1)));
    if (!training) { gx[e] = T(double(gy[e]) * k); continue; }
    const double xh = (double(x[e]) - double(mean[c])) * is;
    gx[e] = T(k * (double(gy[e]) - sums[2 * c] / double(M) - xh * sums[2 * c + 1] / double(M)));
  }
}

// One block per row.
template <class T>
__global__ void ln_forward_kernel(const T* __restrict__ x, const T* w, const T* b, double eps, T* __restrict__ out,
                                  T* mean, T* rstd, int64_t K) {
  __shared__ double sh[kThreads];
  const T* r = x + int64_t(blockIdx.x) * K;
  T* o = out + int64_t(blockIdx.x) * K;
  double s = 0;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) s += double(r[k]);
  const double mu = block_sum(s, sh) / double(K);
  double q = 0;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) { const double d = double(r[k]) - mu; q += d * d; }
  const double rs = rsqrt(block_sum(q, sh) / double(K) + eps);
  if (threadIdx.x == 0) { mean[blockIdx.x] = T(mu); rstd[blockIdx.x] = T(rs); }
  for (int64_t k = threadIdx.x; k < K; k += kThreads)
    o[k] = T((double(r[k]) - mu) * rs * double(get_or(w, k, T(1))) + double(get_or(b, k, T(0))));
}

template <class T>
__global__ void ln_backward_kernel(const T* __restrict__ x, const T* __restrict__ gy, const T* mean, const T* rstd,
                                   const T* w, T* __restrict__ gx, int64_t K) {
  __shared__ double sh[kThreads];
  const int64_t row = blockIdx.x;
  const T* r = x + row * K;
  const T* g = gy + row * K;
  const double mu = double(mean[row]), rs = double(rstd[row]);
  double sg = 0, sgx = 0;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) {
    const double gk = double(g[k]) * double(get_or(w, k, T(1)));
    sg += gk;
    sgx += gk * (double(r[k]) - mu) * rs;
  }
  sg = block_sum(sg, sh) / double(K);
  sgx = block_sum(sgx, sh) / double(K);
  for (int64_t k = threadIdx.x; k < K; k += kThreads) {
    const double gk = double(g[k]) * double(get_or(w, k, T(1)));
    gx[row * K + k] = T(rs * (gk - sg - (double(r[k]) - mu) * rs * sgx));
  }
}

// One thread per column k: gweight / gbias summed over the M rows.
template <class T>
__global__ void ln_param_grad_kernel(const T* __restrict__ x, const T* __restrict__ gy, const T* mean, const T* rstd,
                                     T* gw, T* gb, int64_t M, int64_t K) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= K) return;
  double aw = 0, ab = 0;
  for (int64_t m = 0; m < M; ++m) {
    const double g = double(gy[m * K + k]);
    aw += g * (double(x[m * K + k]) - double(mean[m])) * double(rstd[m]);
    ab += g;
  }
  if (gw) gw[k] = T(aw);
  if (gb) gb[k] = T(ab);
}

template <class T>
__device__ T sigm(T v) { return T(1) / (T(1) + exp(-v)); }

template <class T>
__global__ void lstm_kernel(const T* __restrict__ gates, const T* __restrict__ c, T* __restrict__ hc, int64_t H,
                            int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e % H;
    const T* g = gates + b * 4 * H;
    const T i = sigm(g[j]), f = sigm(g[H + j]), gg = tanh(g[2 * H + j]), o = sigm(g[3 * H + j]);
    const T c2 = f * c[e] + i * gg;
    hc[b * 2 * H + H + j] = c2;
    hc[b * 2 * H + j] = o * tanh(c2);
  }
}

template <class T>
__global__ void lstm_backward_kernel(const T* __restrict__ gates, const T* __restrict__ c, const T* __restrict__ hc,
                                     const T* __restrict__ ghc, T* __restrict__ ggates, T* __restrict__ gc, int64_t H,
                                     int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += step) {
    const int64_t b = e / H, j = e % H;
    const T* g = gates + b * 4 * H;
    T* go = ggates + b * 4 * H;
    const T i = sigm(g[j]), f = sigm(g[H + j]), gg = tanh(g[2 * H + j]), o = sigm(g[3 * H + j]);
    const T tc = tanh(hc[b * 2 * H + H + j]);
    const T dh = ghc[b * 2 * H + j];
    const T dc = ghc[b * 2 * H + H + j] + dh * o * (T(1) - tc * tc);
    go[j] = dc * gg * i * (T(1) - i);
    go[H + j] = dc * c[e] * f * (T(1) - f);
    go[2 * H + j] = dc * i * (T(1) - gg * gg);
    go[3 * H + j] = dh * tc * o * (T(1) - o);
    gc[e] = dc * f;
  }
}

// ---- launchers ----

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t(1) << 20)); }

void check_float(const char* op, const View& x) {
  if (x.dtype != kFloat32 && x.dtype != kFloat64)
    fail(op, ": the CUDA backend needs float32 or float64 operands, got ", x.dtype);
}

template <class T> const T* cp(const View& v) { return static_cast<const T*>(v.data); }
template <class T> T* mp(const View& v) { return static_cast<T*>(v.data); }

}  // namespace

void launch_batch_norm_stats(const View& x, const View& mean, const View& var, cudaStream_t stream) {
  check_float("batch_norm", x);
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
  if (C == 0) return;
  if (x.dtype == kFloat32)
    bn_stats_kernel<float><<<unsigned(C), kThreads, 0, stream>>>(cp<float>(x), mp<float>(mean), mp<float>(var), N, C, S);
  else
    bn_stats_kernel<double><<<unsigned(C), kThreads, 0, stream>>>(cp<double>(x), mp<double>(mean), mp<double>(var), N, C, S);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_batch_norm_forward(const View& x, const View& mean, const View& invstd, const View& w, const View& b,
                               const View& out, cudaStream_t stream) {
  check_float("batch_norm", x);
  const int64_t n = x.numel(), C = x.shape[1], S = x.shape[2];
  if (n == 0) return;
  if (x.dtype == kFloat32)
    bn_forward_kernel<float><<<grid_for(n), kThreads, 0, stream>>>(cp<float>(x), cp<float>(mean), cp<float>(invstd),
                                                                  cp<float>(w), cp<float>(b), mp<float>(out), C, S, n);
  else
    bn_forward_kernel<double><<<grid_for(n), kThreads, 0, stream>>>(cp<double>(x), cp<double>(mean), cp<double>(invstd),
                                                                   cp<double>(w), cp<double>(b), mp<double>(out), C, S, n);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_batch_norm_backward(const View& x, const View& gy, const View& mean, const View& invstd, const View& w,
                                bool training, const View& gx, const View& gw, const View& gb, double* sums,
                                cudaStream_t stream) {
  check_float("batch_norm_backward", x);
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2], n = x.numel();
  if (n == 0) return;
  if (x.dtype == kFloat32) {
    bn_sums_kernel<float><<<unsigned(C), kThreads, 0, stream>>>(cp<float>(x), cp<float>(gy), cp<float>(mean),
                                                               cp<float>(invstd), sums, mp<float>(gw), mp<float>(gb), N, C, S);
    if (gx.data)
      bn_backward_kernel<float><<<grid_for(n), kThreads, 0, stream>>>(cp<float>(x), cp<float>(gy), cp<float>(mean),
                                                                     cp<float>(invstd), cp<float>(w), sums, training,
                                                                     mp<float>(gx), C, S, N * S, n);
  } else {
    bn_sums_kernel<double><<<unsigned(C), kThreads, 0, stream>>>(cp<double>(x), cp<double>(gy), cp<double>(mean),
                                                                cp<double>(invstd), sums, mp<double>(gw), mp<double>(gb), N, C, S);
    if (gx.data)
      bn_backward_kernel<double><<<grid_for(n), kThreads, 0, stream>>>(cp<double>(x), cp<double>(gy), cp<double>(mean),
                                                                      cp<double>(invstd), cp<double>(w), sums, training,
                                                                      mp<double>(gx), C, S, N * S, n);
  }
  TF_CUDA_CHECK_LAUNCH();
}

void launch_layer_norm_forward(const View& x, const View& w, const View& b, double eps, const View& out,
                               const View& mean, const View& rstd, cudaStream_t stream) {
  check_float("layer_norm", x);
  const int64_t M = x.shape[0], K = x.shape[1];
  if (M == 0 || K == 0) return;
  if (x.dtype == kFloat32)
    ln_forward_kernel<float><<<unsigned(M), kThreads, 0, stream>>>(cp<float>(x), cp<float>(w), cp<float>(b), eps,
                                                                  mp<float>(out), mp<float>(mean), mp<float>(rstd), K);
  else
    ln_forward_kernel<double><<<unsigned(M), kThreads, 0, stream>>>(cp<double>(x), cp<double>(w), cp<double>(b), eps,
                                                                   mp<double>(out), mp<double>(mean), mp<double>(rstd), K);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_layer_norm_backward(const View& x, const View& gy, const View& mean, const View& rstd, const View& w,
                                const View& gx, const View& gw, const View& gb, cudaStream_t stream) {
  check_float("layer_norm_backward", x);
  const int64_t M = x.shape[0], K = x.shape[1];
  if (M == 0 || K == 0) return;
  const unsigned cols = unsigned((K + kThreads - 1) / kThreads);
  if (x.dtype == kFloat32) {
    if (gx.data)
      ln_backward_kernel<float><<<unsigned(M), kThreads, 0, stream>>>(cp<float>(x), cp<float>(gy), cp<float>(mean),
                                                                     cp<float>(rstd), cp<float>(w), mp<float>(gx), K);
    if (gw.data || gb.data)
      ln_param_grad_kernel<float><<<cols, kThreads, 0, stream>>>(cp<float>(x), cp<float>(gy), cp<float>(mean),
                                                                cp<float>(rstd), mp<float>(gw), mp<float>(gb), M, K);
  } else {
    if (gx.data)
      ln_backward_kernel<double><<<unsigned(M), kThreads, 0, stream>>>(cp<double>(x), cp<double>(gy), cp<double>(mean),
                                                                      cp<double>(rstd), cp<double>(w), mp<double>(gx), K);
    if (gw.data || gb.data)
      ln_param_grad_kernel<double><<<cols, kThreads, 0, stream>>>(cp<double>(x), cp<double>(gy), cp<double>(mean),
                                                                 cp<double>(rstd), mp<double>(gw), mp<double>(gb), M, K);
  }
  TF_CUDA_CHECK_LAUNCH();
}

void launch_lstm_gates(const View& gates, const View& c, const View& hc, cudaStream_t stream) {
  check_float("lstm_cell", c);
  const int64_t n = c.numel(), H = c.shape[1];
  if (n == 0) return;
  if (c.dtype == kFloat32)
    lstm_kernel<float><<<grid_for(n), kThreads, 0, stream>>>(cp<float>(gates), cp<float>(c), mp<float>(hc), H, n);
  else
    lstm_kernel<double><<<grid_for(n), kThreads, 0, stream>>>(cp<double>(gates), cp<double>(c), mp<double>(hc), H, n);
  TF_CUDA_CHECK_LAUNCH();
}

void launch_lstm_gates_backward(const View& gates, const View& c, const View& hc, const View& ghc, const View& ggates,
                                const View& gc, cudaStream_t stream) {
  check_float("lstm_cell", c);
  const int64_t n = c.numel(), H = c.shape[1];
  if (n == 0) return;
  if (c.dtype == kFloat32)
    lstm_backward_kernel<float><<<grid_for(n), kThreads, 0, stream>>>(cp<float>(gates), cp<float>(c), cp<float>(hc),
                                                                     cp<float>(ghc), mp<float>(ggates), mp<float>(gc), H, n);
  else
    lstm_backward_kernel<double><<<grid_for(n), kThreads, 0, stream>>>(cp<double>(gates), cp<double>(c), cp<double>(hc),
                                                                      cp<double>(ghc), mp<double>(ggates), mp<double>(gc), H, n);
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace tapeflow::backend::cuda
