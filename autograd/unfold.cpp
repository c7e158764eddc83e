// im2col / col2im as differentiable ops (each the other's backward), and the public unfold /
// fold (PyTorch's F.unfold / F.fold) over them.
#include "autograd/function.h"
#include "autograd/window.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::should_record;
using backend::Window2d;

namespace detail {

std::string size_str(int nsp, int64_t h, int64_t w) {
  return nsp == 1 ? str_cat(w) : str_cat("(", h, ", ", w, ")");
}

Tensor batchify(const char* op, const Tensor& x, int nsp, bool& unbatched) {
  check_defined(op, x);
  unbatched = x.dim() == nsp + 1;
  if (unbatched) return x.unsqueeze(0);
  if (x.dim() != nsp + 2)
    fail(op, ": expected a ", nsp + 1, "-D (channels, ", nsp == 1 ? "length" : "height, width", ") or ", nsp + 2,
         "-D (batch, channels, ", nsp == 1 ? "length" : "height, width", ") input, got shape ", x.shape());
  return x;
}

Tensor im2col_op(const Tensor& x0, const Window2d& g) {
  Tensor x = x0.contiguous();
  Tensor cols = make_tensor(Shape{g.batch, g.channels * g.kernel_h * g.kernel_w, g.out_h * g.out_w},
                            x.dtype(), x.device());
  if (cols.numel()) backend_of(x).im2col(g, view_of(x), view_of(cols));
  if (should_record({&x}))
    record("Im2colBackward", {&x}, cols, [g](Node&, Grads& gs) -> Grads { return {col2im_op(gs[0], g)}; });
  return cols;
}

Tensor col2im_op(const Tensor& c0, const Window2d& g) {
  Tensor cols = c0.contiguous();
  Tensor x = make_tensor(Shape{g.batch, g.channels, g.in_h, g.in_w}, cols.dtype(), cols.device());
  if (x.numel()) {
    if (cols.numel()) backend_of(x).col2im(g, view_of(cols), view_of(x));
    else backend_of(x).fill(view_of(x), 0.0);
  }
  if (should_record({&cols}))
    record("Col2imBackward", {&cols}, x, [g](Node&, Grads& gs) -> Grads { return {im2col_op(gs[0], g)}; });
  return x;
}

}  // namespace detail

using namespace detail;

namespace {

void check_window_args(const char* op, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  if (kernel.h < 1 || kernel.w < 1) fail(op, ": kernel_size must be positive, got ", size_str(2, kernel.h, kernel.w));
  if (dilation.h < 1 || dilation.w < 1) fail(op, ": dilation must be positive, got ", size_str(2, dilation.h, dilation.w));
  if (padding.h < 0 || padding.w < 0) fail(op, ": padding must be non-negative, got ", size_str(2, padding.h, padding.w));
  if (stride.h < 1 || stride.w < 1) fail(op, ": stride must be positive, got ", size_str(2, stride.h, stride.w));
}

void check_float(const char* op, const Tensor& x) {
  if (!is_floating(x.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", x.dtype());
}

}  // namespace

Tensor unfold(const Tensor& input, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  const char* op = "unfold";
  bool unbatched;
  Tensor x = batchify(op, input, 2, unbatched);
  check_float(op, x);
  check_window_args(op, kernel, dilation, padding, stride);
  Window2d g;
  g.batch = x.shape()[0]; g.channels = x.shape()[1]; g.in_h = x.shape()[2]; g.in_w = x.shape()[3];
  g.kernel_h = kernel.h; g.kernel_w = kernel.w; g.stride_h = stride.h; g.stride_w = stride.w;
  g.pad_h = padding.h; g.pad_w = padding.w; g.dilation_h = dilation.h; g.dilation_w = dilation.w;
  g.out_h = window_out_size(g.in_h, 2 * g.pad_h, g.kernel_h, g.stride_h, g.dilation_h);
  g.out_w = window_out_size(g.in_w, 2 * g.pad_w, g.kernel_w, g.stride_w, g.dilation_w);
  if (g.out_h < 1 || g.out_w < 1)
    fail(op, ": the dilated kernel ", size_str(2, dilation.h * (kernel.h - 1) + 1, dilation.w * (kernel.w - 1) + 1),
         " is larger than the padded input ", size_str(2, g.in_h + 2 * g.pad_h, g.in_w + 2 * g.pad_w),
         " (input shape ", input.shape(), ")");
  Tensor cols = im2col_op(x, g);
  return unbatched ? cols.squeeze(0) : cols;
}

Tensor fold(const Tensor& input, Size2 output_size, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  const char* op = "fold";
  check_defined(op, input);
  if (input.dim() != 2 && input.dim() != 3)
    fail(op, ": expected a 2-D (C*kH*kW, L) or 3-D (batch, C*kH*kW, L) input, got shape ", input.shape());
  check_float(op, input);
  check_window_args(op, kernel, dilation, padding, stride);
  if (output_size.h < 1 || output_size.w < 1)
    fail(op, ": output_size must be positive, got ", size_str(2, output_size.h, output_size.w));
  bool unbatched = input.dim() == 2;
  Tensor c = unbatched ? input.unsqueeze(0) : input;
  const int64_t kk = kernel.h * kernel.w;
  if (c.shape()[1] % kk != 0)
    fail(op, ": input of shape ", input.shape(), ": dim ", unbatched ? 0 : 1, " (", c.shape()[1],
         ") is not divisible by the kernel size ", size_str(2, kernel.h, kernel.w), " product ", kk);
  Window2d g;
  g.batch = c.shape()[0]; g.channels = c.shape()[1] / kk; g.in_h = output_size.h; g.in_w = output_size.w;
  g.kernel_h = kernel.h; g.kernel_w = kernel.w; g.stride_h = stride.h; g.stride_w = stride.w;
  g.pad_h = padding.h; g.pad_w = padding.w; g.dilation_h = dilation.h; g.dilation_w = dilation.w;
  g.out_h = window_out_size(g.in_h, 2 * g.pad_h, g.kernel_h, g.stride_h, g.dilation_h);
  g.out_w = window_out_size(g.in_w, 2 * g.pad_w, g.kernel_w, g.stride_w, g.dilation_w);
  if (g.out_h * g.out_w != c.shape()[2])
    fail(op, ": input of shape ", input.shape(), " has ", c.shape()[2], " blocks, but output_size ",
         size_str(2, g.in_h, g.in_w), " with kernel ", size_str(2, kernel.h, kernel.w), ", dilation ",
         size_str(2, dilation.h, dilation.w), ", padding ", size_str(2, padding.h, padding.w), " and stride ",
         size_str(2, stride.h, stride.w), " gives ", g.out_h * g.out_w);
  Tensor x = col2im_op(c, g);
  return unbatched ? x.squeeze(0) : x;
}

}  // namespace tapeflow
