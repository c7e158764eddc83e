// CpuBackend::conv2d_forward / conv2d_backward: the fused 2-D convolution. Each sample is cut
// into blocks of output rows whose column matrix (C*kh*kw, rows*out_w) fits a per-thread scratch
// buffer of about kColsBytes (it stays in cache: the whole batch's im2col is never built, so the
// memory does not grow with the batch). Per block, one single-threaded OpenBLAS call per group:
//   forward     y[n][:, block]  = W @ cols                      (+ bias)
//   grad weight gW             += gy[n][:, block] @ cols^T      (cols rebuilt from x)
//   grad input  cols            = W^T @ gy[n][:, block], then col2im into gx[n]
// A 1x1 convolution with stride 1 and no padding reads x / writes gx directly (no im2col).
// float32 3x3 stride-1 layers with >= 8 channels each way go through Winograd F(2x2, 3x3)
// instead (conv_winograd.h): forward, weight and input gradient; the bias gradient stays here.
// The forward runs the (sample, block) pairs in parallel on the pool, the backward the samples
// (static chunks): a sample's gx is written by one thread only, and gW / gb are summed per
// chunk, then over the chunks in order (deterministic). When that gives one chunk while the
// pool has more threads (a single sample), the gemms themselves run split on the pool instead.
#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/blas.h"
#include "backends/cpu/conv_winograd.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {
namespace {

constexpr int64_t kColsBytes = 512 * 1024;

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  blas::api().sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, blasint(M),
                    blasint(N), blasint(K), 1.0f, A, blasint(lda), B, blasint(ldb), beta, C, blasint(ldc));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B,
          int64_t ldb, double beta, double* C, int64_t ldc) {
  blas::api().dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, blasint(M),
                    blasint(N), blasint(K), 1.0, A, blasint(lda), B, blasint(ldb), beta, C, blasint(ldc));
}

// The same through CpuBackend::gemm, which splits a large product over the pool (`wide`: the
// caller runs outside any parallel region).
template <class T>
void gemm_on(bool wide, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
             int64_t ldb, T beta, T* C, int64_t ldc) {
  if (!wide) return gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
  cpu_backend().gemm(sizeof(T) == 4 ? DType::Float32 : DType::Float64, ta, tb, M, N, K, 1.0, A, lda, 0, B, ldb, 0,
                     double(beta), C, ldc, 0, 1);
}

// The window columns ow in [lo, hi) whose tap at input offset `off` lands inside [0, size).
inline void valid_range(int64_t off, int64_t stride, int64_t size, int64_t out, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t last = size - 1 - off;
  hi = last < 0 ? 0 : last / stride + 1;
  lo = std::min(lo, out);
  hi = std::min(std::max(hi, lo), out);
}

struct Geometry {
  const Window2d& g;
  int64_t groups, C, cout, kk, L, cgkk, coutg, block_rows;
  bool direct;  // 1x1, stride 1, no padding: the image is its own column matrix
  Geometry(const Window2d& w, int64_t G, int64_t co, size_t elem) : g(w), groups(G), C(w.channels), cout(co) {
    kk = g.kernel_h * g.kernel_w;
    L = g.out_h * g.out_w;
    cgkk = C / groups * kk;
    coutg = cout / groups;
    direct = kk == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 &&
             g.out_h == g.in_h && g.out_w == g.in_w;
    const int64_t row_bytes = C * kk * g.out_w * int64_t(elem);
    block_rows = direct ? g.out_h : std::clamp<int64_t>(kColsBytes / std::max<int64_t>(row_bytes, 1), 1, g.out_h);
  }
};

// Rows of the window geometry: output rows [oh0, oh1) of one sample. With stride 1 along both
// dims and out_w == in_w (the usual "same" convolution), the taps of one (c, i, j) row read a
// shifted run of the input plane: one linear copy, then the columns that fall in the padding
// are cleared (`linear`). Otherwise row by row.
struct Rows {
  // For kernel tap q = i*kw + j: the input offset along w, the row offset (input row = oh *
  // stride_h + hoff), the output rows [v0, v1) of this block whose input row is inside, and
  // the valid columns [lo, hi).
  struct Tap { int64_t off, hoff, v0, v1, lo, hi; };
  const Window2d& g;
  int64_t C, kk, oh0, oh1, nl;
  bool linear;
  std::vector<Tap> taps;
  Rows(const Window2d& w, int64_t c, int64_t r0, int64_t r1)
      : g(w), C(c), kk(w.kernel_h * w.kernel_w), oh0(r0), oh1(r1), nl((r1 - r0) * w.out_w),
        linear(w.stride_h == 1 && w.stride_w == 1 && w.out_w == w.in_w), taps(size_t(kk)) {
    for (int64_t q = 0; q < kk; ++q) {
      Tap& t = taps[size_t(q)];
      const int64_t i = q / g.kernel_w, j = q % g.kernel_w;
      t.off = j * g.dilation_w - g.pad_w;
      t.hoff = i * g.dilation_h - g.pad_h;
      valid_range(t.off, g.stride_w, g.in_w, g.out_w, t.lo, t.hi);
      valid_range(t.hoff, g.stride_h, g.in_h, g.out_h, t.v0, t.v1);
      t.v0 = std::clamp(t.v0, oh0, oh1);
      t.v1 = std::clamp(t.v1, t.v0, oh1);
    }
  }
};

// cols (C*kk, nl) of output rows [oh0, oh1) of one sample xn (C, H, W).
template <class T>
void im2col_rows(const Rows& R, const T* xn, T* cols) {
  const Window2d& g = R.g;
  const int64_t W = g.out_w, HW = g.in_h * g.in_w;
  for (int64_t r = 0; r < R.C * R.kk; ++r) {
    const Rows::Tap& t = R.taps[size_t(r % R.kk)];
    const T* xp = xn + (r / R.kk) * HW;
    T* out = cols + r * R.nl;
    std::fill(out, out + (t.v0 - R.oh0) * W, T(0));
    std::fill(out + (t.v1 - R.oh0) * W, out + R.nl, T(0));
    if (t.v1 <= t.v0) continue;
    if (R.linear) {
      // out[k] = xp[k + base] for k over the valid rows, clipped to the plane; then the
      // columns outside [lo, hi) are cleared (the clipped ends lie among them).
      const int64_t base = (R.oh0 + t.hoff) * W + t.off;
      const int64_t k0 = std::max((t.v0 - R.oh0) * W, -base), k1 = std::min((t.v1 - R.oh0) * W, HW - base);
      if (k1 > k0) std::memcpy(out + k0, xp + k0 + base, size_t(k1 - k0) * sizeof(T));
      if (t.lo > 0 || t.hi < W)
        for (int64_t oh = t.v0; oh < t.v1; ++oh) {
          T* o = out + (oh - R.oh0) * W;
          for (int64_t ow = 0; ow < t.lo; ++ow) o[ow] = T(0);
          for (int64_t ow = t.hi; ow < W; ++ow) o[ow] = T(0);
        }
      continue;
    }
    for (int64_t oh = t.v0; oh < t.v1; ++oh) {
      T* o = out + (oh - R.oh0) * W;
      const T* row = xp + (oh * g.stride_h + t.hoff) * g.in_w + t.off;
      for (int64_t ow = 0; ow < t.lo; ++ow) o[ow] = T(0);
      if (g.stride_w == 1) for (int64_t ow = t.lo; ow < t.hi; ++ow) o[ow] = row[ow];
      else for (int64_t ow = t.lo; ow < t.hi; ++ow) o[ow] = row[ow * g.stride_w];
      for (int64_t ow = t.hi; ow < W; ++ow) o[ow] = T(0);
    }
  }
}

// The adjoint: adds cols (C*kk, nl) into xn (C, H, W). cols is scratch: the linear form clears
// its entries that read padding first, then adds each row as one run.
template <class T>
void col2im_rows(const Rows& R, T* cols, T* xn) {
  const Window2d& g = R.g;
  const int64_t W = g.out_w, HW = g.in_h * g.in_w;
  for (int64_t r = 0; r < R.C * R.kk; ++r) {
    const Rows::Tap& t = R.taps[size_t(r % R.kk)];
    if (t.v1 <= t.v0) continue;
    T* xp = xn + (r / R.kk) * HW;
    T* cr = cols + r * R.nl;
    if (R.linear) {
      if (t.lo > 0 || t.hi < W)
        for (int64_t oh = t.v0; oh < t.v1; ++oh) {
          T* o = cr + (oh - R.oh0) * W;
          for (int64_t ow = 0; ow < t.lo; ++ow) o[ow] = T(0);
          for (int64_t ow = t.hi; ow < W; ++ow) o[ow] = T(0);
        }
      const int64_t base = (R.oh0 + t.hoff) * W + t.off;
      const int64_t k0 = std::max((t.v0 - R.oh0) * W, -base), k1 = std::min((t.v1 - R.oh0) * W, HW - base);
      T* dst = xp + base;
      for (int64_t k = k0; k < k1; ++k) dst[k] += cr[k];
      continue;
    }
    for (int64_t oh = t.v0; oh < t.v1; ++oh) {
      T* row = xp + (oh * g.stride_h + t.hoff) * g.in_w + t.off;
      const T* src = cr + (oh - R.oh0) * W;
      if (g.stride_w == 1) for (int64_t ow = t.lo; ow < t.hi; ++ow) row[ow] += src[ow];
      else for (int64_t ow = t.lo; ow < t.hi; ++ow) row[ow * g.stride_w] += src[ow];
    }
  }
}

// sum(r[0..n)) with 8 independent partial sums (the compiler vectorises the lanes).
template <class T>
double row_sum(const T* r, int64_t n) {
  T lane[8] = {};
  int64_t l = 0;
  for (; l + 8 <= n; l += 8)
    for (int k = 0; k < 8; ++k) lane[k] += r[l + k];
  double s = 0;
  for (int k = 0; k < 8; ++k) s += double(lane[k]);
  for (; l < n; ++l) s += double(r[l]);
  return s;
}

// A per-thread scratch buffer, reused by every later call on that thread; one above kKeepBytes
// (a single output row of a very wide layer) is given back at the end of the call.
constexpr size_t kKeepBytes = 8u << 20;
template <class T>
std::vector<char>& scratch_buffer() {
  thread_local std::vector<char> buf;
  return buf;
}
template <class T>
T* scratch(int64_t n) {
  std::vector<char>& buf = scratch_buffer<T>();
  if (buf.size() < size_t(n) * sizeof(T)) buf.resize(size_t(n) * sizeof(T));
  return reinterpret_cast<T*>(buf.data());
}
template <class T>
void trim_scratch() {
  std::vector<char>& buf = scratch_buffer<T>();
  if (buf.size() > kKeepBytes) std::vector<char>().swap(buf);
}

// Units of `work` multiply-adds per chunk: above ~1e5, so tiny convolutions run inline.
int64_t grain_for(int64_t work) { return std::max<int64_t>(1, 100000 / std::max<int64_t>(work, 1)); }
int64_t sample_grain(const Geometry& G) { return grain_for(G.L * G.cgkk * G.cout); }

// One chunk for `units` while the pool has more threads: split the gemms instead.
bool go_wide(int64_t units, int64_t grain) { return parallel_chunks(units, grain) == 1 && pool_threads() > 1; }

template <class T>
void forward_kernel(const Geometry& G, const T* x, const T* w, const T* bias, T* y) {
  const Window2d& g = G.g;
  const int64_t xs = G.C * g.in_h * g.in_w, ys = G.cout * G.L;
  const int64_t blocks = (g.out_h + G.block_rows - 1) / G.block_rows, units = g.batch * blocks;
  const int64_t grain = grain_for(G.block_rows * g.out_w * G.cgkk * G.cout);
  const bool wide = go_wide(units, grain);
  parallel_for(0, units, grain, [&](int64_t u0, int64_t u1) {
    T* cols = G.direct ? nullptr : scratch<T>(G.C * G.kk * G.block_rows * g.out_w);
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t n = u / blocks, oh0 = (u % blocks) * G.block_rows;
      const int64_t oh1 = std::min(oh0 + G.block_rows, g.out_h), l0 = oh0 * g.out_w, nl = (oh1 - oh0) * g.out_w;
      const T* B = G.direct ? x + n * xs + l0 : cols;
      const int64_t ldb = G.direct ? G.L : nl;
      if (!G.direct) im2col_rows(Rows(g, G.C, oh0, oh1), x + n * xs, cols);
      T* yb = y + n * ys + l0;
      for (int64_t gi = 0; gi < G.groups; ++gi)
        gemm_on(wide, false, false, G.coutg, nl, G.cgkk, w + gi * G.coutg * G.cgkk, G.cgkk, B + gi * G.cgkk * ldb,
                ldb, T(0), yb + gi * G.coutg * G.L, G.L);
      if (bias)
        for (int64_t co = 0; co < G.cout; ++co) {
          T* r = yb + co * G.L;
          const T b = bias[co];
          for (int64_t l = 0; l < nl; ++l) r[l] += b;
        }
    }
    trim_scratch<T>();
  });
}

template <class T>
void backward_kernel(const Geometry& G, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const Window2d& g = G.g;
  const int64_t xs = G.C * g.in_h * g.in_w, ys = G.cout * G.L, wn = G.cout * G.cgkk;
  // Per-chunk partial sums of gw / gb, indexed by the chunk's first sample; chunk 0 writes the
  // outputs directly.
  std::vector<std::vector<T>> pw(size_t(g.batch));
  std::vector<std::vector<double>> pb(size_t(g.batch));
  const bool wide = go_wide(g.batch, sample_grain(G));
  parallel_for(0, g.batch, sample_grain(G), [&](int64_t n0, int64_t n1) {
    T* cols = G.direct ? nullptr : scratch<T>(G.C * G.kk * G.block_rows * g.out_w);
    T* aw = nullptr;
    if (gw) {
      if (n0 == 0) aw = gw;
      else { pw[size_t(n0)].assign(size_t(wn), T(0)); aw = pw[size_t(n0)].data(); }
    }
    std::vector<double> local_b;
    if (gb) local_b.assign(size_t(G.cout), 0.0);
    bool first = true;
    for (int64_t n = n0; n < n1; ++n) {
      T* gxn = gx ? gx + n * xs : nullptr;
      if (gxn && !G.direct) std::fill(gxn, gxn + xs, T(0));
      for (int64_t oh0 = 0; oh0 < g.out_h; oh0 += G.block_rows) {
        const int64_t oh1 = std::min(oh0 + G.block_rows, g.out_h), l0 = oh0 * g.out_w, nl = (oh1 - oh0) * g.out_w;
        const T* gyb = gy + n * ys + l0;
        if (gw) {
          const T* B = G.direct ? x + n * xs + l0 : cols;
          const int64_t ldb = G.direct ? G.L : nl;
          if (!G.direct) im2col_rows(Rows(g, G.C, oh0, oh1), x + n * xs, cols);
          const T beta = first ? T(0) : T(1);
          for (int64_t gi = 0; gi < G.groups; ++gi)
            gemm_on(wide, false, true, G.coutg, G.cgkk, nl, gyb + gi * G.coutg * G.L, G.L, B + gi * G.cgkk * ldb, ldb,
                    beta, aw + gi * G.coutg * G.cgkk, G.cgkk);
          first = false;
        }
        if (gxn) {
          T* out = G.direct ? gxn + l0 : cols;
          const int64_t ldc = G.direct ? G.L : nl;
          for (int64_t gi = 0; gi < G.groups; ++gi)
            gemm_on(wide, true, false, G.cgkk, nl, G.coutg, w + gi * G.coutg * G.cgkk, G.cgkk,
                    gyb + gi * G.coutg * G.L, G.L, T(0), out + gi * G.cgkk * ldc, ldc);
          if (!G.direct) col2im_rows(Rows(g, G.C, oh0, oh1), cols, gxn);
        }
        if (gb)
          for (int64_t co = 0; co < G.cout; ++co) {
            local_b[size_t(co)] += row_sum(gyb + co * G.L, nl);
          }
      }
    }
    if (gb) pb[size_t(n0)] = std::move(local_b);
    trim_scratch<T>();
  });
  if (gw)
    for (int64_t n = 1; n < g.batch; ++n)
      if (!pw[size_t(n)].empty()) {
        const T* p = pw[size_t(n)].data();
        for (int64_t i = 0; i < wn; ++i) gw[i] += p[i];
      }
  if (gb) {
    std::vector<double> acc(size_t(G.cout), 0.0);
    for (int64_t n = 0; n < g.batch; ++n)
      for (size_t co = 0; co < pb[size_t(n)].size(); ++co) acc[co] += pb[size_t(n)][co];
    for (int64_t co = 0; co < G.cout; ++co) gb[co] = T(acc[size_t(co)]);
  }
}

bool usable(const Window2d& g, int64_t groups, const View& x, const View& w) {
  if (!is_floating(x.dtype) || w.dtype != x.dtype || !x.is_contiguous() || !w.is_contiguous()) return false;
  if (groups < 1 || g.channels % groups != 0 || w.rank != 4 || w.shape[0] % groups != 0) return false;
  return g.batch > 0 && g.channels > 0 && w.shape[0] > 0 && g.out_h > 0 && g.out_w > 0 && g.in_h > 0 && g.in_w > 0;
}

// float32 3x3, stride 1, dilation 1, one group, padding 0..2 with the usual output size, enough
// channels: the forward and the weight / input gradients go through Winograd F(2x2, 3x3).
bool winograd_ok(const Window2d& g, int64_t groups, const View& x, const View& w) {
  return x.dtype == DType::Float32 && groups == 1 && g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 &&
         g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.pad_h >= 0 && g.pad_h <= 2 &&
         g.pad_w >= 0 && g.pad_w <= 2 && g.out_h == g.in_h + 2 * g.pad_h - 2 && g.out_w == g.in_w + 2 * g.pad_w - 2 &&
         winograd_worth(g.channels, w.shape[0]);
}

}  // namespace

bool CpuBackend::conv2d_forward(const Window2d& g, int64_t groups, const View& x, const View& w, const View& bias,
                                const View& y) {
  if (!usable(g, groups, x, w) || !y.is_contiguous() || y.dtype != x.dtype) return false;
  if (winograd_ok(g, groups, x, w)) {
    const int64_t K = w.shape[0], L = g.out_h * g.out_w;
    float* yp = static_cast<float*>(y.data);
    winograd3x3(static_cast<const float*>(x.data), g.batch, g.channels, g.in_h, g.in_w, g.pad_h, g.pad_w,
                static_cast<const float*>(w.data), K, false, yp);
    if (const float* b = static_cast<const float*>(bias.data))
      for (int64_t r = 0; r < g.batch * K; ++r)
        for (int64_t l = 0; l < L; ++l) yp[r * L + l] += b[r % K];
    return true;
  }
  Geometry G(g, groups, w.shape[0], x.dtype == DType::Float32 ? 4 : 8);
  if (x.dtype == DType::Float32)
    forward_kernel(G, static_cast<const float*>(x.data), static_cast<const float*>(w.data),
                   static_cast<const float*>(bias.data), static_cast<float*>(y.data));
  else
    forward_kernel(G, static_cast<const double*>(x.data), static_cast<const double*>(w.data),
                   static_cast<const double*>(bias.data), static_cast<double*>(y.data));
  return true;
}

bool CpuBackend::conv2d_backward(const Window2d& g, int64_t groups, const View& x, const View& w, const View& gy,
                                 const View& gx, const View& gw, const View& gb) {
  if (!usable(g, groups, x, w) || !gy.is_contiguous() || gy.dtype != x.dtype) return false;
  Geometry G(g, groups, w.shape[0], x.dtype == DType::Float32 ? 4 : 8);
  if (winograd_ok(g, groups, x, w)) {
    // gb as below; gw and gx through Winograd (gx: the stride-1 convolution of gy with the
    // flipped, transposed kernel, padded by 2 - pad).
    const float* xp = static_cast<const float*>(x.data);
    const float* gyp = static_cast<const float*>(gy.data);
    if (gb.data)
      backward_kernel(G, xp, static_cast<const float*>(w.data), gyp, static_cast<float*>(nullptr),
                      static_cast<float*>(nullptr), static_cast<float*>(gb.data));
    if (gw.data)
      winograd3x3_grad_weight(xp, g.batch, g.channels, g.in_h, g.in_w, g.pad_h, g.pad_w, gyp, w.shape[0],
                              static_cast<float*>(gw.data));
    if (gx.data)
      winograd3x3(gyp, g.batch, w.shape[0], g.out_h, g.out_w, 2 - g.pad_h, 2 - g.pad_w,
                  static_cast<const float*>(w.data), g.channels, true, static_cast<float*>(gx.data));
    return true;
  }
  if (x.dtype == DType::Float32)
    backward_kernel(G, static_cast<const float*>(x.data), static_cast<const float*>(w.data),
                    static_cast<const float*>(gy.data), static_cast<float*>(gx.data), static_cast<float*>(gw.data),
                    static_cast<float*>(gb.data));
  else
    backward_kernel(G, static_cast<const double*>(x.data), static_cast<const double*>(w.data),
                    static_cast<const double*>(gy.data), static_cast<double*>(gx.data),
                    static_cast<double*>(gw.data), static_cast<double*>(gb.data));
  return true;
}

}  // namespace tapeflow::backend::cpu
