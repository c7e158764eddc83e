// The backend contract: what a device must implement. Backends see buffers and strided views
// only, never the tape. A new op never changes this interface: ops are enum arguments generated
// from backends/op_table.h; their scalar math lives in backends/functors.h (g++ and nvcc).
//
// Conventions for every entry point:
// - A View's `data` points at its first element (offset already applied); strides are in
//   elements and may be 0 (broadcast) or negative-free (tapeflow makes no negative strides).
// - Outputs are always freshly allocated or explicitly in-place targets; an output never
//   overlaps an input except where noted (unary/binary may run exactly in place: out == input).
// - Element-wise inputs have the same rank and shape as `out` (the front end broadcasts by
//   giving zero strides), and the same dtype as each other unless noted.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/device.h"
#include "base/dtype.h"
#include "base/shape.h"
#include "backends/op_table.h"

namespace tapeflow::backend {

struct View {
  void* data = nullptr;
  DType dtype = kFloat32;
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  int64_t numel() const { int64_t n = 1; for (int i = 0; i < rank; ++i) n *= shape[i]; return n; }
  bool is_contiguous() const {
    int64_t expect = 1;
    for (int i = rank - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expect) return false;
      expect *= shape[i];
    }
    return true;
  }
};

// The op enums (UnaryOp, BinaryOp, ReduceOp) are generated from the op tables of
// backends/op_table.h, which also say each op's name, dtype rule and output dtype.
// Unary element-wise ops: out[i] = f(x[i], alpha, beta); out is x's dtype, or Bool for the
// predicates; float-only ops are only asked for float dtypes.
// Binary element-wise ops: out[i] = f(a[i], b[i]). a, b same dtype; out has that dtype, except
// comparisons and logical ops, whose out is Bool.
// ---- convolution and pooling ----
// Geometry of a sliding 2-D window over the last two dims of a contiguous (N, C, H, W) tensor
// (1-D ops use H = 1). pad_h / pad_w are the top / left padding; out_h / out_w are computed by
// the front end and fix the bottom / right extent (which may differ from the top / left one:
// "same" padding, ceil_mode). Window (oh, ow), tap (i, j) reads input row
// oh*stride_h - pad_h + i*dilation_h and column ow*stride_w - pad_w + j*dilation_w.
struct Window2d {
  int64_t batch = 1, channels = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};

// ---- fused optimizer updates (optim/fused.cpp fills this in) ----
// One in-place pass over a parameter: decoupled weight decay p -= p * weight_decay, then the
// rule of `kind` (the formulas of optim/sgd.h and optim/adaptive.h, with lr already scaled):
//   SGD      state {}                 or {v} with momentum > 0 (v = m*v - lr*g; p += nesterov ? m*v - lr*g : v)
//   Adam     state {m, v}, + {vhat} with amsgrad;  p -= m * alpha / (sqrt(v or vhat) + eps)
//   RMSprop  state {s}, + {a} when centered, + {b} when momentum > 0
//   Adagrad  state {acc}
struct OptimizerStep {
  enum class Kind : uint8_t { SGD, Adam, RMSprop, Adagrad } kind = Kind::SGD;
  double lr = 0, weight_decay = 0;  // weight_decay already multiplied by lr (0 = none)
  double momentum = 0;              // SGD, RMSprop
  bool nesterov = false;            // SGD
  double beta1 = 0.9, beta2 = 0.999, alpha = 0;  // Adam (alpha: the bias-corrected step size)
  bool amsgrad = false;                           // Adam
  double rho = 0.9;                               // RMSprop
  bool centered = false;                          // RMSprop
  double eps = 1e-7;
};

enum class ArgReduceOp : uint8_t { ArgMax, ArgMin };
enum class RandomKind : uint8_t { Uniform, Normal, Bernoulli, RandInt };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // ---- memory ----
  virtual void* allocate(size_t nbytes) = 0;  // throws tapeflow::Error on failure
  virtual void deallocate(void* p, size_t nbytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_within(void* dst, const void* src, size_t nbytes) = 0;  // same device
  virtual void synchronize() = 0;

  // ---- element-wise ----
  virtual void fill(const View& out, double value) = 0;  // value converted to out.dtype
  virtual void unary(UnaryOp op, const View& x, const View& out, double alpha, double beta) = 0;
  virtual void binary(BinaryOp op, const View& a, const View& b, const View& out) = 0;
  // out = cond ? a : b; cond is Bool, a/b/out share a dtype.
  virtual void where(const View& cond, const View& a, const View& b, const View& out) = 0;
  // Materialises src into dst (same shape), converting dtype when they differ (cast).
  virtual void copy_strided(const View& src, const View& dst) = 0;

  // ---- reductions ----
  // out has x's rank with 1 at every reduced axis (bit i of axes_mask set = axis i reduced).
  // Sum/Prod/Max/Min keep x's dtype; All/Any give Bool. Max/Min of floats propagate NaN.
  virtual void reduce(ReduceOp op, const View& x, uint32_t axes_mask, const View& out) = 0;
  // out (Int64) has x's rank with 1 at `axis`; the first index of ties wins.
  virtual void arg_reduce(ArgReduceOp op, const View& x, int axis, const View& out) = 0;
  virtual void cumsum(const View& x, int axis, const View& out) = 0;  // same shape and dtype

  // ---- matrix product (row-major): C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] ----
  // Float32/Float64 only. op(A) is MxK, op(B) is KxN, C is MxN with leading dimension ldc.
  // A stride of 0 between batches repeats that matrix (broadcast batch dims).
  virtual void gemm(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    double alpha, const void* A, int64_t lda, int64_t stride_a, const void* B,
                    int64_t ldb, int64_t stride_b, double beta, void* C, int64_t ldc,
                    int64_t stride_c, int64_t batch) = 0;

  // ---- indexing (index: Int64; values checked by the front end) ----
  // out.shape = x.shape with shape[axis] = index.numel(); out[.., i, ..] = x[.., index[i], ..]
  virtual void index_select(const View& x, int axis, const View& index, const View& out) = 0;
  // out[.., index[i], ..] += src[.., i, ..]   (accumulates duplicates)
  virtual void index_add(const View& out, int axis, const View& index, const View& src) = 0;
  // index has out's shape: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1, etc.
  virtual void gather(const View& x, int axis, const View& index, const View& out) = 0;
  // out[i][index[i][j][k]][k] += src[i][j][k] for axis 1; index has src's shape.
  virtual void scatter_add(const View& out, int axis, const View& index, const View& src) = 0;

  // ---- random (Philox4x32-10 counter-based; element i uses counter `offset + i`) ----
  // Uniform [a, b); Normal(mean a, std b); Bernoulli(p = a) -> 0/1; RandInt [a, b).
  // out is contiguous.
  virtual void random(RandomKind kind, const View& out, uint64_t seed, uint64_t offset,
                      double a, double b) = 0;

  // ---- convolution and pooling (all views contiguous, float32/float64; see Window2d) ----
  // im2col: x (N, C, H, W) -> cols (N, C*kh*kw, out_h*out_w); row (c*kh + i)*kw + j, column
  // oh*out_w + ow holds the input under tap (i, j) of window (oh, ow), 0 outside the input.
  virtual void im2col(const Window2d& g, const View& x, const View& cols) = 0;
  // col2im, the adjoint of im2col: x = 0, then every cols entry is added to the input position
  // it was read from (entries that read padding are dropped).
  virtual void col2im(const Window2d& g, const View& cols, const View& x) = 0;
  // Max over each window's taps inside the input: out (N, C, out_h, out_w), indices (Int64, same
  // shape) = h*W + w of the first maximum (a NaN wins and stays). A window with no tap inside
  // the input (only possible with dilation) gives -inf and index -1.
  virtual void max_pool2d(const Window2d& g, const View& x, const View& out,
                          const View& indices) = 0;
  // gx (N, C, H, W) = 0, then gx[n, c, indices[n, c, o]] += gy[n, c, o].
  virtual void max_pool2d_backward(const Window2d& g, const View& gy, const View& indices,
                                   const View& gx) = 0;
  // Mean over each window (dilation 1). Divisor as PyTorch's avg_pool2d: count_include_pad ->
  // the window clipped to the input padded by pad_h / pad_w on both sides (ceil_mode windows
  // that run past it are cut there); otherwise the number of input positions in the window.
  virtual void avg_pool2d(const Window2d& g, bool count_include_pad, const View& x,
                          const View& out) = 0;
  // gx = 0, then gx[input position] += gy[window] / divisor for every window covering it.
  virtual void avg_pool2d_backward(const Window2d& g, bool count_include_pad, const View& gy,
                                   const View& gx) = 0;
  // Fused 2-D convolution (CPU: conv.cpp): x (N, C, H, W), w (C_out, C/groups, kh, kw), y (N,
  // C_out, out_h, out_w), bias (C_out), all contiguous and of one float dtype; g.channels = C.
  // Forward: y = conv(x, w) + bias (bias.data == nullptr: none). Backward: gx / gw / gb, each
  // skipped when its data is nullptr: the gradients of that forward for the output gradient gy
  // (gx overwritten, gw and gb overwritten, gb = sum of gy over n, oh, ow). Both return false
  // when this backend has no fused kernel (the caller composes im2col + gemm); the defaults do.
  virtual bool conv2d_forward(const Window2d&, int64_t /*groups*/, const View& /*x*/, const View& /*w*/,
                              const View& /*bias*/, const View& /*y*/) { return false; }
  virtual bool conv2d_backward(const Window2d&, int64_t /*groups*/, const View& /*x*/, const View& /*w*/,
                               const View& /*gy*/, const View& /*gx*/, const View& /*gw*/,
                               const View& /*gb*/) { return false; }

  // ---- normalisation, embedding, sorting ----
  // All views contiguous; x and every float view share x's dtype (float32/float64); statistics
  // are accumulated in double (two passes: mean, then centred squares). A view whose data is
  // nullptr means "absent": weight = 1, bias = 0, an output not wanted. The defaults (backends/
  // fallback.cpp) stage through host memory and run the CPU kernels; a device may override
  // (CPU: norm.cpp, sort.cpp, rnn.cpp; CUDA: norm.cu, sort.cu). Embedding needs no entry of its
  // own: it is index_select forward and index_add backward.
  // Batch norm: x is (N, C, S) (S = product of the spatial dims, 1 for (N, C)).
  // mean / var (C): per-channel batch mean and BIASED variance over N and S.
  virtual void batch_norm_stats(const View& x, const View& mean, const View& var);
  // out = (x - mean[c]) * invstd[c] * weight[c] + bias[c].
  virtual void batch_norm_forward(const View& x, const View& mean, const View& invstd,
                                  const View& weight, const View& bias, const View& out);
  // gy like x. xhat = (x - mean) * invstd, M = N * S, g = gy * weight.
  // gweight = sum(gy * xhat), gbias = sum(gy) (over N and S);
  // training: gx = invstd * (g - mean(g) - xhat * mean(g * xhat)); eval: gx = g * invstd.
  virtual void batch_norm_backward(const View& x, const View& gy, const View& mean,
                                   const View& invstd, const View& weight, bool training,
                                   const View& gx, const View& gweight, const View& gbias);
  // Layer norm over the rows of x (M, K): mean / rstd (M) = row mean and 1/sqrt(biased var + eps);
  // out = (x - mean) * rstd * weight[k] + bias[k] (weight / bias (K)).
  virtual void layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                                  const View& out, const View& mean, const View& rstd);
  // gx = rstd * (g - mean_k(g) - xhat * mean_k(g * xhat)), g = gy * weight;
  // gweight = sum_m(gy * xhat), gbias = sum_m(gy).
  virtual void layer_norm_backward(const View& x, const View& gy, const View& mean,
                                   const View& rstd, const View& weight, const View& gx,
                                   const View& gweight, const View& gbias);
  // Sorts each row of x (M, n) and keeps the first k: values (M, k) (x's dtype) and indices
  // (M, k) (Int64, position in the row). Ascending or descending; NaN counts as larger than
  // every number (PyTorch's order); equal keys keep their original order (always stable).
  virtual void sort_rows(const View& x, int64_t k, bool descending, const View& values,
                         const View& indices);
  // LSTM cell gate math, fused. gates (B, 4H) = x w_ih^T + b_ih + h w_hh^T + b_hh in PyTorch's
  // order (i, f, g, o); c (B, H). hc (B, 2H): columns [0, H) get h' = sig(o) * tanh(c'),
  // columns [H, 2H) get c' = sig(f) * c + sig(i) * tanh(g).
  virtual void lstm_gates(const View& gates, const View& c, const View& hc);
  // Its backward: ghc (B, 2H) is the gradient of hc; ggates (B, 4H) and gc (B, H) (the gradient
  // of c) are written.
  virtual void lstm_gates_backward(const View& gates, const View& c, const View& hc, const View& ghc,
                                   const View& ggates, const View& gc);

  // ---- fused (the defaults build them from the primitives above) ----
  // Softmax / log-softmax over `axis` of x (float).
  virtual void softmax(const View& x, int axis, bool log, const View& out);
  // gx = y * (gy - sum(gy * y))  or, for log: gy - exp(y) * sum(gy)
  virtual void softmax_backward(const View& y, const View& gy, int axis, bool log, const View& gx);
  // One fused optimizer update (see OptimizerStep). param, grad and the `nstate` state views
  // are contiguous, float32 or float64, of one dtype and numel; param and state are updated in
  // place. Returns false when this backend has no fused kernel (the caller then runs the
  // unfused formula); the default does.
  virtual bool optimizer_step(const OptimizerStep& s, const View& param, const View& grad,
                              const View* state, int nstate);
  // C (M x N, rows ldc apart) = op(A) @ op(B) + bias, bias (N, contiguous) added to every row:
  // a Dense layer's forward without first copying the bias into C. Returns false when this
  // backend has no such kernel for the case (the caller copies the bias into C and runs gemm
  // with beta = 1, which gives the same values).
  virtual bool gemm_bias(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                         const void* A, int64_t lda, const void* B, int64_t ldb, const void* bias,
                         void* C, int64_t ldc);
  // A hint that rows[0..n) of the row-major block at base (rows row_bytes apart) will be read
  // soon (a data set's next batch): the backend may bring them into cache while it computes.
  // No value may depend on it. The default does nothing.
  virtual void prefetch_rows(const void* base, int64_t row_bytes, const int64_t* rows, int64_t n);
  // Cross-entropy of float logits z (N, C) with Int64 labels (N), every label in [0, C) (the
  // caller checks): lsm (N, C) = log_softmax(z, 1) and loss (N) = -lsm[i, label_i]. z and lsm
  // contiguous. Returns false when this backend has no fused kernel (the caller composes it).
  virtual bool cross_entropy_forward(const View& z, const View& labels, const View& lsm,
                                     const View& loss);
  // Its backward: gx (N, C) = (exp(lsm) - onehot(label)) * g_i, g (N) of lsm's dtype.
  virtual bool cross_entropy_backward(const View& lsm, const View& labels, const View& g,
                                      const View& gx);
};

// The backend for a device: throws "built without CUDA" / "no CUDA device" as fits.
Backend& backend_for(Device d);
// Implemented by backends/cpu.
Backend& cpu_backend();
// Implemented by backends/cuda (the real backend, or a stub in builds without CUDA that throws
// "built without CUDA"). cuda_backend throws "no CUDA device" when index is out of range.
Backend& cuda_backend(int index);

}  // namespace tapeflow::backend
