// Convolutions: conv2d / conv1d run the backend's fused kernel when it has one (CPU:
// backends/cpu/conv.cpp, im2col + gemm per block of output rows, recorded as one node whose
// backward is fused too, or, under create_graph, the public-op formulas of conv2d_grads);
// otherwise im2col + batched gemm per group (matmul over the differentiable im2col_op). The
// transposed convolution is gemm + col2im. The composite backwards are those of the pieces:
// grad input = gemm + col2im, grad weight = gemm (summed over the batch), grad bias = sum;
// built from public ops, so they differentiate again (create_graph).
#include "autograd/function.h"
#include "autograd/trace.h"
#include "autograd/window.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::needs_input_grad;
using autograd::Node;
using autograd::record;
using autograd::save;
using autograd::should_record;
using backend::Window2d;
using namespace detail;

ConvPadding::ConvPadding(const char* s) : text(s ? s : "(null)") {
  if (text == "valid") mode = Mode::Valid;
  else if (text == "same") mode = Mode::Same;
  else mode = Mode::Invalid;
}

namespace {

void check_common(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, int nsp) {
  check_defined(op, w);
  if (w.dim() != nsp + 2)
    fail(op, ": expected a ", nsp + 2, "-D weight, got shape ", w.shape(), " (input shape ", x.shape(), ")");
  if (!is_floating(x.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", x.dtype());
  if (w.dtype() != x.dtype())
    fail(op, ": input (", x.dtype(), ") and weight (", w.dtype(), ") must have the same dtype");
  check_same_device(op, x, w);
  if (b.defined()) {
    if (b.dtype() != x.dtype())
      fail(op, ": input (", x.dtype(), ") and bias (", b.dtype(), ") must have the same dtype");
    check_same_device(op, x, b);
  }
}

void check_positive(const char* op, const char* what, int nsp, Size2 v) {
  if (v.h < 1 || v.w < 1) fail(op, ": ", what, " must be positive, got ", size_str(nsp, v.h, v.w));
}

Tensor add_bias(const char* op, Tensor y, const Tensor& b, int64_t cout) {
  if (!b.defined()) return y;
  if (b.dim() != 1 || b.shape()[0] != cout)
    fail(op, ": expected a bias of shape (", cout, ",), got ", b.shape());
  return y + b.reshape({1, cout, 1, 1});
}

bool is_pointwise(const Window2d& g) {
  return g.kernel_h * g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 &&
         g.out_h == g.in_h && g.out_w == g.in_w;
}

// input (N, C, H, W) / weight (C_out, C/groups, kh, kw), already checked.
Tensor conv2d_core(const Tensor& x, const Tensor& w, const Window2d& g, int64_t groups) {
  const int64_t N = g.batch, C = g.channels, cout = w.shape()[0], kk = g.kernel_h * g.kernel_w;
  const int64_t L = g.out_h * g.out_w;
  const bool pointwise = is_pointwise(g);
  Tensor cols = pointwise ? x.reshape({N, C, L}) : im2col_op(x, g);
  Tensor y;
  if (groups == 1) {
    y = matmul(w.reshape({cout, C * kk}), cols);
  } else {
    const int64_t cg = C / groups;
    y = matmul(w.reshape({groups, cout / groups, cg * kk}), cols.reshape({N, groups, cg * kk, L}));
  }
  return y.reshape({N, cout, g.out_h, g.out_w});
}

// The gradients of conv2d_core + bias for the output gradient gy, in public ops (they
// differentiate again): grad input = col2im(W^T gy), grad weight = sum_n gy im2col(x)^T.
Grads conv2d_grads(const Tensor& x, const Tensor& w, const Tensor& gy, const Window2d& g, int64_t groups,
                   bool need_x, bool need_w, bool need_b) {
  const int64_t N = g.batch, C = g.channels, cout = w.shape()[0], kk = g.kernel_h * g.kernel_w;
  const int64_t L = g.out_h * g.out_w, cg = C / groups, coutg = cout / groups;
  const bool pointwise = is_pointwise(g);
  Tensor gy4 = gy.reshape({N, groups, coutg, L});
  Tensor gx, gw, gb;
  if (need_w) {
    Tensor cols = pointwise ? x.reshape({N, C, L}) : im2col_op(x, g);
    gw = sum(matmul(gy4, cols.reshape({N, groups, cg * kk, L}).transpose(2, 3)), {0}).reshape(w.shape());
  }
  if (need_x) {
    Tensor gcols = matmul(w.reshape({groups, coutg, cg * kk}).transpose(1, 2), gy4).reshape({N, C * kk, L});
    gx = pointwise ? gcols.reshape(x.shape()) : col2im_op(gcols, g);
  }
  if (need_b) gb = sum(gy, {0, 2, 3});
  return {gx, gw, gb};
}

// The fused convolution of the backend (backends/cpu/conv.cpp) with bias, recorded as one node;
// an undefined result when the backend has none (the caller composes the public ops).
Tensor conv2d_fused(const Tensor& x4, const Tensor& w4, const Tensor& bias, const Window2d& g, int64_t groups) {
  const int64_t cout = w4.shape()[0];
  if (x4.numel() == 0 || w4.numel() == 0) return Tensor();
  Tensor x = x4.contiguous(), w = w4.contiguous(), b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = make_tensor(Shape{g.batch, cout, g.out_h, g.out_w}, x.dtype(), x.device());
  if (!backend_of(x).conv2d_forward(g, groups, view_of(x), view_of(w), b.defined() ? view_of(b) : backend::View{},
                                    view_of(y)))
    return Tensor();
  if (should_record({&x4, &w4, &bias}))
    record("Conv2dBackward", {&x4, &w4, &bias}, y,
           [sx = save(x), sw = save(w), g, groups](Node& n, Grads& gs) -> Grads {
             Tensor x = sx.unpack(n), w = sw.unpack(n);
             const bool need_x = needs_input_grad(n, 0), need_w = needs_input_grad(n, 1);
             const bool need_b = needs_input_grad(n, 2);
             Tensor gy = gs[0].contiguous();
             if (is_grad_enabled() || gy.dtype() != x.dtype())  // create_graph: differentiable ops
               return conv2d_grads(x, w, gy, g, groups, need_x, need_w, need_b);
             const int64_t cout = w.shape()[0];
             Tensor gx = need_x ? make_tensor(x.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gw = need_w ? make_tensor(w.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gb = need_b ? make_tensor(Shape{cout}, x.dtype(), x.device()) : Tensor();
             auto opt = [](const Tensor& t) { return t.defined() ? view_of(t) : backend::View{}; };
             if (!backend_of(x).conv2d_backward(g, groups, view_of(x), view_of(w), view_of(gy), opt(gx), opt(gw),
                                                opt(gb)))
               return conv2d_grads(x, w, gy, g, groups, need_x, need_w, need_b);
             return {gx, gw, gb};
           });
  return y;
}

Tensor conv_nd_impl(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias, int nsp,
                    Size2 stride, ConvPadding padding, Size2 dilation, int64_t groups, int64_t* pads) {
  bool unbatched;
  Tensor x = batchify(op, input, nsp, unbatched);
  check_common(op, x, weight, bias, nsp);
  check_positive(op, "stride", nsp, stride);
  check_positive(op, "dilation", nsp, dilation);
  if (groups < 1) fail(op, ": groups must be positive, got ", groups);
  const int64_t C = x.shape()[1], cout = weight.shape()[0];
  if (C % groups != 0)
    fail(op, ": input channels (", C, ", input shape ", input.shape(), ") are not divisible by groups = ", groups);
  if (cout % groups != 0)
    fail(op, ": output channels (", cout, ", weight shape ", weight.shape(), ") are not divisible by groups = ", groups);
  if (weight.shape()[1] != C / groups)
    fail(op, ": weight of shape ", weight.shape(), " expects ", weight.shape()[1] * groups,
         " input channels (weight.shape[1] * groups), but the input of shape ", input.shape(), " has ", C);
  // Spatial sizes as (h, w); the 1-D ops have h = 1 everywhere.
  const int64_t in_h = nsp == 2 ? x.shape()[2] : 1, in_w = x.shape()[nsp + 1];
  const int64_t kh = nsp == 2 ? weight.shape()[2] : 1, kw = weight.shape()[nsp + 1];
  if (kh < 1 || kw < 1) fail(op, ": weight of shape ", weight.shape(), " has an empty kernel");
  if (nsp == 1) { stride.h = 1; dilation.h = 1; }
  if (padding.mode == ConvPadding::Mode::Invalid)
    fail(op, ": padding must be numbers, \"valid\" or \"same\", got \"", padding.text, "\"");
  int64_t plo[2] = {0, 0}, phi[2] = {0, 0};
  const int64_t k[2] = {kh, kw}, d[2] = {dilation.h, dilation.w};
  if (padding.mode == ConvPadding::Mode::Same) {
    if (stride.h != 1 || stride.w != 1)
      fail(op, ": padding=\"same\" needs stride 1, got stride ", size_str(nsp, stride.h, stride.w));
    for (int i = 0; i < 2; ++i) {
      int64_t total = d[i] * (k[i] - 1);
      plo[i] = total / 2;
      phi[i] = total - plo[i];
    }
  } else if (padding.mode == ConvPadding::Mode::Explicit) {
    Size2 p = padding.size;
    if (nsp == 1 && p.pair) fail(op, ": padding must be one number for a 1-D convolution");
    if (nsp == 1) p.h = 0;
    if (p.h < 0 || p.w < 0) fail(op, ": padding must be non-negative, got ", size_str(nsp, p.h, p.w));
    plo[0] = phi[0] = p.h;
    plo[1] = phi[1] = p.w;
  }
  pads[0] = plo[0]; pads[1] = plo[1]; pads[2] = phi[0]; pads[3] = phi[1];
  Window2d g;
  g.batch = x.shape()[0]; g.channels = C; g.in_h = in_h; g.in_w = in_w;
  g.kernel_h = kh; g.kernel_w = kw; g.stride_h = stride.h; g.stride_w = stride.w;
  g.pad_h = plo[0]; g.pad_w = plo[1]; g.dilation_h = dilation.h; g.dilation_w = dilation.w;
  g.out_h = window_out_size(in_h, plo[0] + phi[0], kh, stride.h, dilation.h);
  g.out_w = window_out_size(in_w, plo[1] + phi[1], kw, stride.w, dilation.w);
  if (g.out_h < 1 || g.out_w < 1)
    fail(op, ": the dilated kernel ", size_str(nsp, d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1),
         " is larger than the padded input ", size_str(nsp, in_h + plo[0] + phi[0], in_w + plo[1] + phi[1]),
         " (input shape ", input.shape(), ", weight shape ", weight.shape(), ")");
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != cout))
    fail(op, ": expected a bias of shape (", cout, ",), got ", bias.shape());
  Tensor x4 = nsp == 1 ? x.unsqueeze(2) : x;
  Tensor w4 = nsp == 1 ? weight.unsqueeze(2) : weight;
  Tensor y = conv2d_fused(x4, w4, bias, g, groups);
  if (!y.defined()) y = add_bias(op, conv2d_core(x4, w4, g, groups), bias, cout);
  if (nsp == 1) y = y.squeeze(2);
  return unbatched ? y.squeeze(0) : y;
}

// The spatial values of a (h, w) attribute: (w) for a 1-D op.
std::vector<int64_t> conv_spatial(int nsp, int64_t h, int64_t w) {
  return nsp == 1 ? std::vector<int64_t>{w} : std::vector<int64_t>{h, w};
}

std::vector<Tensor> traced_inputs(const Tensor& x, const Tensor& w, const Tensor& b) {
  return b.defined() ? std::vector<Tensor>{x, w, b} : std::vector<Tensor>{x, w};
}

// The op reports itself to a tracer (autograd/trace.h) as one "conv" with ONNX's attributes;
// its parts (im2col, matmul, reshapes) are not traced.
Tensor conv_nd(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias, int nsp,
               Size2 stride, ConvPadding padding, Size2 dilation, int64_t groups) {
  const bool tr = autograd::tracing();
  int64_t pads[4] = {0, 0, 0, 0};
  Tensor y;
  {
    autograd::TraceGuard off(nullptr);
    y = conv_nd_impl(op, input, weight, bias, nsp, stride, padding, dilation, groups, pads);
  }
  if (tr) {
    std::vector<int64_t> p = conv_spatial(nsp, pads[0], pads[1]), hi = conv_spatial(nsp, pads[2], pads[3]);
    p.insert(p.end(), hi.begin(), hi.end());
    autograd::trace("conv", traced_inputs(input, weight, bias), y,
                    {{"nsp", {nsp}}, {"strides", conv_spatial(nsp, stride.h, stride.w)}, {"pads", p},
                     {"dilations", conv_spatial(nsp, dilation.h, dilation.w)}, {"group", {groups}}});
  }
  return y;
}

Tensor conv_transpose_nd_impl(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias, int nsp,
                         Size2 stride, Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
  bool unbatched;
  Tensor x = batchify(op, input, nsp, unbatched);
  check_common(op, x, weight, bias, nsp);
  if (nsp == 1) { stride.h = dilation.h = 1; padding.h = output_padding.h = 0; }
  check_positive(op, "stride", nsp, stride);
  check_positive(op, "dilation", nsp, dilation);
  if (padding.h < 0 || padding.w < 0)
    fail(op, ": padding must be non-negative, got ", size_str(nsp, padding.h, padding.w));
  if (output_padding.h < 0 || output_padding.w < 0)
    fail(op, ": output_padding must be non-negative, got ", size_str(nsp, output_padding.h, output_padding.w));
  if ((output_padding.h >= stride.h && output_padding.h >= dilation.h) ||
      (output_padding.w >= stride.w && output_padding.w >= dilation.w))
    fail(op, ": output_padding ", size_str(nsp, output_padding.h, output_padding.w),
         " must be smaller than either stride ", size_str(nsp, stride.h, stride.w), " or dilation ",
         size_str(nsp, dilation.h, dilation.w));
  if (groups < 1) fail(op, ": groups must be positive, got ", groups);
  const int64_t cin = x.shape()[1];
  if (cin % groups != 0)
    fail(op, ": input channels (", cin, ", input shape ", input.shape(), ") are not divisible by groups = ", groups);
  if (weight.shape()[0] != cin)
    fail(op, ": weight of shape ", weight.shape(), " expects ", weight.shape()[0],
         " input channels (weight.shape[0]), but the input of shape ", input.shape(), " has ", cin);
  const int64_t coutg = weight.shape()[1], cout = coutg * groups;
  const int64_t in_h = nsp == 2 ? x.shape()[2] : 1, in_w = x.shape()[nsp + 1];
  const int64_t kh = nsp == 2 ? weight.shape()[2] : 1, kw = weight.shape()[nsp + 1];
  if (kh < 1 || kw < 1 || coutg < 1) fail(op, ": weight of shape ", weight.shape(), " is empty");
  const int64_t oh = (in_h - 1) * stride.h - 2 * padding.h + dilation.h * (kh - 1) + output_padding.h + 1;
  const int64_t ow = (in_w - 1) * stride.w - 2 * padding.w + dilation.w * (kw - 1) + output_padding.w + 1;
  if (oh < 1 || ow < 1)
    fail(op, ": the output size ", size_str(nsp, oh, ow), " is not positive (input shape ", input.shape(),
         ", weight shape ", weight.shape(), ", padding ", size_str(nsp, padding.h, padding.w), ")");
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != cout))
    fail(op, ": expected a bias of shape (", cout, ",), got ", bias.shape());
  // The "image" of col2im is the output; its windows are the input positions.
  Window2d g;
  g.batch = x.shape()[0]; g.channels = cout; g.in_h = oh; g.in_w = ow; g.out_h = in_h; g.out_w = in_w;
  g.kernel_h = kh; g.kernel_w = kw; g.stride_h = stride.h; g.stride_w = stride.w;
  g.pad_h = padding.h; g.pad_w = padding.w; g.dilation_h = dilation.h; g.dilation_w = dilation.w;
  const int64_t N = g.batch, L = in_h * in_w, kk = kh * kw, cing = cin / groups;
  Tensor cols;
  if (groups == 1) {
    cols = matmul(weight.reshape({cin, cout * kk}).transpose(0, 1), x.reshape({N, cin, L}));
  } else {
    Tensor wr = weight.reshape({groups, cing, coutg * kk}).transpose(1, 2);
    cols = matmul(wr, x.reshape({N, groups, cing, L})).reshape({N, cout * kk, L});
  }
  Tensor y = add_bias(op, col2im_op(cols, g), bias, cout);
  if (nsp == 1) y = y.squeeze(2);
  return unbatched ? y.squeeze(0) : y;
}

Tensor conv_transpose_nd(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias, int nsp,
                         Size2 stride, Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
  const bool tr = autograd::tracing();
  Tensor y;
  {
    autograd::TraceGuard off(nullptr);
    y = conv_transpose_nd_impl(op, input, weight, bias, nsp, stride, padding, output_padding, groups, dilation);
  }
  if (tr) {
    std::vector<int64_t> p = conv_spatial(nsp, padding.h, padding.w), hi = p;
    p.insert(p.end(), hi.begin(), hi.end());
    autograd::trace("conv_transpose", traced_inputs(input, weight, bias), y,
                    {{"nsp", {nsp}}, {"strides", conv_spatial(nsp, stride.h, stride.w)}, {"pads", p},
                     {"output_padding", conv_spatial(nsp, output_padding.h, output_padding.w)},
                     {"dilations", conv_spatial(nsp, dilation.h, dilation.w)}, {"group", {groups}}});
  }
  return y;
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, ConvPadding padding,
              int64_t dilation, int64_t groups) {
  return conv_nd("conv1d", input, weight, bias, 1, stride, padding, dilation, groups);
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, ConvPadding padding,
              Size2 dilation, int64_t groups) {
  return conv_nd("conv2d", input, weight, bias, 2, stride, padding, dilation, groups);
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
                        Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
  return conv_transpose_nd("conv_transpose2d", input, weight, bias, 2, stride, padding, output_padding, groups,
                           dilation);
}

Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                        int64_t padding, int64_t output_padding, int64_t groups, int64_t dilation) {
  return conv_transpose_nd("conv_transpose1d", input, weight, bias, 1, stride, padding, output_padding, groups,
                           dilation);
}

}  // namespace tapeflow
