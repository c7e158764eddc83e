// Convolution, pooling, padding and unfold/fold as differentiable functional ops, with
// PyTorch's names, argument order and conventions: channels first, (N, C, L) for the 1-D ops
// and (N, C, H, W) for the 2-D ones (an unbatched (C, L) / (C, H, W) input is accepted too, as
// in PyTorch). Bad input throws tapeflow::Error naming the op and the shapes.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow {

// A size per spatial dim: one number for every dim (`2`) or one per dim (`{2, 1}` = height,
// width). Default-constructed: "not given" (pooling strides then default to the kernel size).
struct Size2 {
  int64_t h = 0, w = 0;
  bool given = false, pair = false;
  Size2() = default;
  Size2(int64_t v) : h(v), w(v), given(true) {}
  Size2(int64_t vh, int64_t vw) : h(vh), w(vw), given(true), pair(true) {}
};

// Convolution padding: numbers as Size2, or "valid" (none) or "same" (output size = input size;
// stride 1 only; an odd total goes to the right / bottom, as in PyTorch).
struct ConvPadding {
  enum class Mode : uint8_t { Explicit, Valid, Same, Invalid };
  Mode mode = Mode::Explicit;
  Size2 size{0};
  std::string text;  // the string given (Invalid: reported by the op)
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  ConvPadding(T v) : size(int64_t(v)) {}
  ConvPadding(int64_t vh, int64_t vw) : size(vh, vw) {}
  ConvPadding(Size2 s) : size(s) {}
  ConvPadding(const char* s);
  ConvPadding(const std::string& s) : ConvPadding(s.c_str()) {}
};

// ---- convolution (cross-correlation, as PyTorch) ----
// input (N, C_in, L), weight (C_out, C_in / groups, k), bias (C_out) or undefined.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              int64_t stride = 1, ConvPadding padding = 0, int64_t dilation = 1,
              int64_t groups = 1);
// input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW), bias (C_out) or undefined.
// groups = C_in with C_out = m * C_in is a depthwise convolution.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              Size2 stride = 1, ConvPadding padding = 0, Size2 dilation = 1, int64_t groups = 1);
// The transposed convolution (the gradient of conv2d with respect to its input):
// input (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW); output size
// (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        Size2 stride = 1, Size2 padding = 0, Size2 output_padding = 0,
                        int64_t groups = 1, Size2 dilation = 1);
Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0,
                        int64_t groups = 1, int64_t dilation = 1);

// ---- pooling ----
// stride not given = kernel_size; padding (implicit -inf for max, 0 for avg): numbers at most
// half the kernel, "valid" (= 0) or "same" (Keras: output ceil(in / stride); the total
// max((out - 1) * stride + dilation * (kernel - 1) + 1 - in, 0) split with the extra on the
// bottom / right; average pooling then divides by the input positions in each window, whatever
// count_include_pad says, and ceil_mode has no effect). ceil_mode rounds the output size up (a
// last window must start inside the input or the left padding). Max pooling's gradient goes to
// the first maximum of each window.
Tensor max_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride = 0, ConvPadding padding = 0,
                  int64_t dilation = 1, bool ceil_mode = false);  // stride 0: = kernel_size
Tensor max_pool2d(const Tensor& input, Size2 kernel_size, Size2 stride = Size2(), ConvPadding padding = 0,
                  Size2 dilation = 1, bool ceil_mode = false);
// (output, indices): indices (int64) = h * W + w of each window's maximum in its input plane.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, Size2 kernel_size,
                                                  Size2 stride = Size2(), ConvPadding padding = 0,
                                                  Size2 dilation = 1, bool ceil_mode = false);
Tensor avg_pool1d(const Tensor& input, int64_t kernel_size, int64_t stride = 0, ConvPadding padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);  // stride 0: = kernel
Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, Size2 stride = Size2(), ConvPadding padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);
// Adaptive pooling to a fixed output size: window i spans [floor(i*H/out), ceil((i+1)*H/out)).
Tensor adaptive_avg_pool1d(const Tensor& input, int64_t output_size);
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size);
Tensor adaptive_max_pool1d(const Tensor& input, int64_t output_size);
Tensor adaptive_max_pool2d(const Tensor& input, Size2 output_size);
// Over all of H and W (Keras's GlobalAveragePooling2D / GlobalMaxPooling2D): (N, C), or
// (N, C, 1, 1) with keepdims.
Tensor global_avg_pool2d(const Tensor& input, bool keepdims = false);
Tensor global_max_pool2d(const Tensor& input, bool keepdims = false);

// ---- padding and im2col ----
// F.pad: `pad` lists (left, right) pairs starting from the LAST dim: {1, 2} pads the last dim
// by 1 before and 2 after; {1, 1, 2, 2} also pads the dim before it by 2 on both sides.
// mode "constant" (fill `value`; negative amounts crop), "reflect" (mirror without repeating
// the edge; each amount < that dim's size), "replicate" (repeat the edge), "circular" (wrap).
Tensor pad(const Tensor& input, const std::vector<int64_t>& pad, const std::string& mode = "constant",
           double value = 0.0);
// F.unfold (im2col): (N, C, H, W) -> (N, C * kH * kW, L), L = number of window positions;
// row (c * kH + i) * kW + j holds tap (i, j) of channel c.
Tensor unfold(const Tensor& input, Size2 kernel_size, Size2 dilation = 1, Size2 padding = 0,
              Size2 stride = 1);
// F.fold (col2im), the adjoint of unfold: (N, C * kH * kW, L) -> (N, C, output_size), summing
// overlapping entries.
Tensor fold(const Tensor& input, Size2 output_size, Size2 kernel_size, Size2 dilation = 1,
            Size2 padding = 0, Size2 stride = 1);

}  // namespace tapeflow
