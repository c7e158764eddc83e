// Max and average pooling (1-D through 2-D with H = 1), adaptive and global pooling.
// max: backend kernel with argmax indices; backward scatters the gradient to the argmax (fused
// kernel, or scatter_add under create_graph, which differentiates again). avg: forward and
// backward kernels, each recorded with the other as its derivative (both are linear).
#include <algorithm>

#include "autograd/function.h"
#include "autograd/trace.h"
#include "autograd/window.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::should_record;
using backend::Window2d;
using namespace detail;

namespace {

struct PoolSetup {
  Tensor x;  // (N, C, H, W), contiguous
  Window2d g;
  int64_t end_h = 0, end_w = 0;  // bottom / right padding (the top / left is g.pad_h / pad_w)
  bool unbatched = false, same = false;
};

// Checks and geometry, as PyTorch's pooling_output_shape (ceil_mode drops a last window that
// would start in the right padding); "same" as Keras (output ceil(in / stride), the odd pad at
// the bottom / right). Sets `same` for the callers (average pooling then excludes the padding).
PoolSetup pool_setup(const char* op, const Tensor& input, int nsp, Size2 k, Size2 s, const ConvPadding& pad,
                     Size2 d, bool ceil_mode) {
  PoolSetup S;
  Tensor x = batchify(op, input, nsp, S.unbatched);
  if (!is_floating(x.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", x.dtype());
  if (pad.mode == ConvPadding::Mode::Invalid)
    fail(op, ": padding must be numbers, 'valid' or 'same', got '", pad.text, "'");
  S.same = pad.mode == ConvPadding::Mode::Same;
  Size2 p = pad.mode == ConvPadding::Mode::Explicit ? pad.size : Size2(0);
  if (!s.given) s = k;
  if (nsp == 1) { k.h = s.h = d.h = 1; p.h = 0; }
  if (k.h < 1 || k.w < 1) fail(op, ": kernel_size must be positive, got ", size_str(nsp, k.h, k.w));
  if (s.h < 1 || s.w < 1) fail(op, ": stride must be positive, got ", size_str(nsp, s.h, s.w));
  if (d.h < 1 || d.w < 1) fail(op, ": dilation must be positive, got ", size_str(nsp, d.h, d.w));
  if (p.h < 0 || p.w < 0) fail(op, ": padding must be non-negative, got ", size_str(nsp, p.h, p.w));
  if (p.h > k.h / 2 || p.w > k.w / 2)
    fail(op, ": padding ", size_str(nsp, p.h, p.w), " must be at most half of kernel_size ",
         size_str(nsp, k.h, k.w));
  Window2d& g = S.g;
  g.batch = x.shape()[0]; g.channels = x.shape()[1];
  g.in_h = nsp == 2 ? x.shape()[2] : 1; g.in_w = x.shape()[nsp + 1];
  g.kernel_h = k.h; g.kernel_w = k.w; g.stride_h = s.h; g.stride_w = s.w;
  g.pad_h = p.h; g.pad_w = p.w; g.dilation_h = d.h; g.dilation_w = d.w;
  auto out = [&](int64_t in, int64_t kk, int64_t ss, int64_t pp, int64_t dd) -> int64_t {
    int64_t span = in + 2 * pp - dd * (kk - 1) - 1;
    if (span < 0) return 0;
    int64_t o = (span + (ceil_mode ? ss - 1 : 0)) / ss + 1;
    if (ceil_mode && (o - 1) * ss >= in + pp) --o;
    return o;
  };
  if (S.same) {  // out = ceil(in / stride); top / left pad = half the total, rounded down
    auto same = [](int64_t in, int64_t kk, int64_t ss, int64_t dd, int64_t& o, int64_t& top, int64_t& end) {
      o = (in + ss - 1) / ss;
      int64_t total = std::max<int64_t>((o - 1) * ss + dd * (kk - 1) + 1 - in, 0);
      top = total / 2;
      end = total - top;
    };
    same(g.in_h, k.h, s.h, d.h, g.out_h, g.pad_h, S.end_h);
    same(g.in_w, k.w, s.w, d.w, g.out_w, g.pad_w, S.end_w);
  } else {
    S.end_h = p.h;
    S.end_w = p.w;
    g.out_h = out(g.in_h, k.h, s.h, p.h, d.h);
    g.out_w = out(g.in_w, k.w, s.w, p.w, d.w);
  }
  if (g.out_h < 1 || g.out_w < 1)
    fail(op, ": the dilated kernel ", size_str(nsp, d.h * (k.h - 1) + 1, d.w * (k.w - 1) + 1),
         " is larger than the padded input ", size_str(nsp, g.in_h + 2 * p.h, g.in_w + 2 * p.w),
         " (input shape ", input.shape(), ")");
  S.x = (nsp == 1 ? x.unsqueeze(2) : x).contiguous();
  return S;
}

Tensor pool_result(Tensor y, int nsp, bool unbatched) {
  if (nsp == 1) y = y.squeeze(2);
  return unbatched ? y.squeeze(0) : y;
}

Shape pool_out_shape(const Window2d& g) { return Shape{g.batch, g.channels, g.out_h, g.out_w}; }
Shape pool_in_shape(const Window2d& g) { return Shape{g.batch, g.channels, g.in_h, g.in_w}; }

std::pair<Tensor, Tensor> max_pool_op(const Tensor& x, const Window2d& g) {
  Tensor y = make_tensor(pool_out_shape(g), x.dtype(), x.device());
  Tensor idx = make_tensor(pool_out_shape(g), kInt64, x.device());
  if (y.numel()) backend_of(x).max_pool2d(g, view_of(x), view_of(y), view_of(idx));
  if (should_record({&x}))
    record("MaxPool2dBackward", {&x}, y, [g, idx](Node&, Grads& gs) -> Grads {
      Tensor gy = gs[0].contiguous();
      if (is_grad_enabled()) {  // differentiable form: gx.flat[idx] += gy
        Shape flat{g.batch, g.channels, g.in_h * g.in_w}, lflat{g.batch, g.channels, g.out_h * g.out_w};
        Tensor z = zeros(flat, Options(gy.dtype(), gy.device()));
        // A dilated window may miss the input entirely (index -1): it sends nothing.
        Tensor valid = ge(idx, 0).reshape(lflat);
        Tensor src = gy.reshape(lflat) * valid.astype(gy.dtype());
        return {scatter_add(z, 2, clamp_min(idx, 0).reshape(lflat), src).reshape(pool_in_shape(g))};
      }
      Tensor gx = make_tensor(pool_in_shape(g), gy.dtype(), gy.device());
      if (gx.numel()) backend_of(gy).max_pool2d_backward(g, view_of(gy), view_of(idx), view_of(gx));
      return {gx};
    });
  return {y, idx};
}

Tensor avg_pool_backward_op(const Tensor& gy, const Window2d& g, bool incl);

Tensor avg_pool_op(const Tensor& x0, const Window2d& g, bool incl) {
  Tensor x = x0.contiguous();
  Tensor y = make_tensor(pool_out_shape(g), x.dtype(), x.device());
  if (y.numel()) backend_of(x).avg_pool2d(g, incl, view_of(x), view_of(y));
  if (should_record({&x}))
    record("AvgPool2dBackward", {&x}, y, [g, incl](Node&, Grads& gs) -> Grads {
      return {avg_pool_backward_op(gs[0], g, incl)};
    });
  return y;
}

Tensor avg_pool_backward_op(const Tensor& gy0, const Window2d& g, bool incl) {
  Tensor gy = gy0.contiguous();
  Tensor gx = make_tensor(pool_in_shape(g), gy.dtype(), gy.device());
  if (gx.numel()) backend_of(gy).avg_pool2d_backward(g, incl, view_of(gy), view_of(gx));
  if (should_record({&gy}))
    record("AvgPool2dBackwardBackward", {&gy}, gx, [g, incl](Node&, Grads& gs) -> Grads {
      return {avg_pool_op(gs[0], g, incl)};
    });
  return gx;
}

// The spatial values of a (h, w) pair: (w) for a 1-D op.
std::vector<int64_t> pool_spatial(int nsp, int64_t h, int64_t w) {
  return nsp == 1 ? std::vector<int64_t>{w} : std::vector<int64_t>{h, w};
}

// Pooling reports itself to a tracer (autograd/trace.h) as one "max_pool" / "avg_pool" with the
// resolved geometry (ONNX's attributes, pads begin then end); its parts are not traced.
void trace_pool(const char* name, const Tensor& input, const Tensor& y, int nsp, const PoolSetup& S, bool ceil_mode,
                bool incl) {
  const Window2d& g = S.g;
  std::vector<int64_t> pads = pool_spatial(nsp, g.pad_h, g.pad_w), hi = pool_spatial(nsp, S.end_h, S.end_w);
  pads.insert(pads.end(), hi.begin(), hi.end());
  autograd::trace(name, {input}, y,
                  {{"nsp", {nsp}}, {"kernel_shape", pool_spatial(nsp, g.kernel_h, g.kernel_w)},
                   {"strides", pool_spatial(nsp, g.stride_h, g.stride_w)}, {"pads", pads},
                   {"dilations", pool_spatial(nsp, g.dilation_h, g.dilation_w)}, {"ceil_mode", {ceil_mode}},
                   {"count_include_pad", {incl}}});
}

std::pair<Tensor, Tensor> max_pool_nd(const char* op, const Tensor& input, int nsp, Size2 k, Size2 s,
                                      const ConvPadding& p, Size2 d, bool ceil_mode) {
  const bool tr = autograd::tracing();
  std::pair<Tensor, Tensor> r;
  PoolSetup S;
  {
    autograd::TraceGuard off(nullptr);
    S = pool_setup(op, input, nsp, k, s, p, d, ceil_mode);
    auto [y, idx] = max_pool_op(S.x, S.g);
    r = {pool_result(y, nsp, S.unbatched), pool_result(idx, nsp, S.unbatched)};
  }
  if (tr) trace_pool("max_pool", input, r.first, nsp, S, ceil_mode, false);
  return r;
}

Tensor avg_pool_nd(const char* op, const Tensor& input, int nsp, Size2 k, Size2 s, const ConvPadding& p,
                   bool ceil_mode, bool incl) {
  const bool tr = autograd::tracing();
  Tensor y;
  PoolSetup S;
  {
    autograd::TraceGuard off(nullptr);
    S = pool_setup(op, input, nsp, k, s, p, Size2(1), ceil_mode);
    y = pool_result(avg_pool_op(S.x, S.g, incl && !S.same), nsp, S.unbatched);
  }
  if (tr) trace_pool("avg_pool", input, y, nsp, S, ceil_mode, incl && !S.same);
  return y;
}

Size2 stride_1d(const char* op, int64_t stride) {
  if (stride < 0) fail(op, ": stride must be positive, got ", stride);
  return stride == 0 ? Size2() : Size2(stride);
}

// Adaptive window of output i over an input of size n split into m: [floor(i*n/m), ceil((i+1)*n/m)).
int64_t win_start(int64_t i, int64_t n, int64_t m) { return (i * n) / m; }
int64_t win_end(int64_t i, int64_t n, int64_t m) { return ((i + 1) * n + m - 1) / m; }

// (m, n) matrix averaging each adaptive window: row i = 1/len over [start, end).
Tensor adaptive_avg_matrix(int64_t m, int64_t n, const Tensor& like) {
  std::vector<double> a(size_t(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    int64_t s = win_start(i, n, m), e = win_end(i, n, m);
    for (int64_t j = s; j < e; ++j) a[size_t(i * n + j)] = 1.0 / double(e - s);
  }
  return from_vector(a, Shape{m, n}).astype(like.dtype()).to(like.device());
}

Tensor adaptive_nd(const char* op, const Tensor& input, int nsp, Size2 os, bool is_max) {
  bool unbatched;
  Tensor x = batchify(op, input, nsp, unbatched);
  if (!is_floating(x.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", x.dtype());
  if (nsp == 1) { x = x.unsqueeze(2); os.h = 1; }
  if (os.h < 1 || os.w < 1) fail(op, ": output_size must be positive, got ", size_str(nsp, os.h, os.w));
  const int64_t H = x.shape()[2], W = x.shape()[3];
  if (H < 1 || W < 1) fail(op, ": input of shape ", input.shape(), " has an empty spatial dim");
  Tensor y;
  if (H % os.h == 0 && W % os.w == 0) {  // uniform windows: a plain pooling
    Size2 k(H / os.h, W / os.w);
    y = is_max ? max_pool2d(x, k) : avg_pool2d(x, k);
  } else if (!is_max) {  // separable: A_h @ x @ A_w^T
    y = matmul(matmul(adaptive_avg_matrix(os.h, H, x), x), adaptive_avg_matrix(os.w, W, x).transpose(0, 1));
  } else {
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < os.h; ++i) {
      int64_t h0 = win_start(i, H, os.h), h1 = win_end(i, H, os.h);
      std::vector<Tensor> cells;
      for (int64_t j = 0; j < os.w; ++j) {
        int64_t w0 = win_start(j, W, os.w), w1 = win_end(j, W, os.w);
        Tensor win = x.slice(2, h0, h1).slice(3, w0, w1);
        cells.push_back(max_pool2d(win, Size2(h1 - h0, w1 - w0)));
      }
      rows.push_back(concat(cells, 3));
    }
    y = concat(rows, 2);
  }
  return pool_result(y, nsp, unbatched);
}

}  // namespace

Tensor max_pool1d(const Tensor& input, int64_t k, int64_t stride, ConvPadding padding, int64_t dilation, bool ceil_mode) {
  return max_pool_nd("max_pool1d", input, 1, k, stride_1d("max_pool1d", stride), padding, dilation, ceil_mode).first;
}
Tensor max_pool2d(const Tensor& input, Size2 k, Size2 stride, ConvPadding padding, Size2 dilation, bool ceil_mode) {
  return max_pool_nd("max_pool2d", input, 2, k, stride, padding, dilation, ceil_mode).first;
}
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Size2 k, Size2 stride, ConvPadding padding,
                                                  Size2 dilation, bool ceil_mode) {
  return max_pool_nd("max_pool2d_with_indices", input, 2, k, stride, padding, dilation, ceil_mode);
}
Tensor avg_pool1d(const Tensor& input, int64_t k, int64_t stride, ConvPadding padding, bool ceil_mode, bool incl) {
  return avg_pool_nd("avg_pool1d", input, 1, k, stride_1d("avg_pool1d", stride), padding, ceil_mode, incl);
}
Tensor avg_pool2d(const Tensor& input, Size2 k, Size2 stride, ConvPadding padding, bool ceil_mode, bool incl) {
  return avg_pool_nd("avg_pool2d", input, 2, k, stride, padding, ceil_mode, incl);
}
Tensor adaptive_avg_pool1d(const Tensor& input, int64_t n) { return adaptive_nd("adaptive_avg_pool1d", input, 1, n, false); }
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 s) { return adaptive_nd("adaptive_avg_pool2d", input, 2, s, false); }
Tensor adaptive_max_pool1d(const Tensor& input, int64_t n) { return adaptive_nd("adaptive_max_pool1d", input, 1, n, true); }
Tensor adaptive_max_pool2d(const Tensor& input, Size2 s) { return adaptive_nd("adaptive_max_pool2d", input, 2, s, true); }

Tensor global_avg_pool2d(const Tensor& input, bool keepdims) {
  check_defined("global_avg_pool2d", input);
  if (input.dim() != 4)
    fail("global_avg_pool2d: expected a 4-D (batch, channels, height, width) input, got shape ", input.shape());
  if (!is_floating(input.dtype()))
    fail("global_avg_pool2d: expected a float32 or float64 input, got dtype ", input.dtype());
  return mean(input, {2, 3}, keepdims);
}

Tensor global_max_pool2d(const Tensor& input, bool keepdims) {
  check_defined("global_max_pool2d", input);
  if (input.dim() != 4)
    fail("global_max_pool2d: expected a 4-D (batch, channels, height, width) input, got shape ", input.shape());
  if (input.shape()[2] < 1 || input.shape()[3] < 1)
    fail("global_max_pool2d: input of shape ", input.shape(), " has an empty spatial dim");
  Tensor y = max_pool2d(input, Size2(input.shape()[2], input.shape()[3]));
  return keepdims ? y : y.reshape({input.shape()[0], input.shape()[1]});
}

}  // namespace tapeflow
