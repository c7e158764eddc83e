// Internal: the sliding-window machinery shared by convolution, pooling and unfold/fold
// (autograd/unfold.cpp, conv.cpp, pool.cpp). Not part of the public API.
#pragma once
#include "backends/backend.h"
#include "tensor/conv_ops.h"
#include "tensor/tensor.h"

namespace tapeflow::detail {

// Differentiable im2col (x: (N, C, H, W) -> (N, C*kh*kw, out_h*out_w)) and col2im (the
// adjoint, (N, C*kh*kw, L) -> (N, C, in_h, in_w)); each is recorded with the other as its
// backward, so both differentiate any number of times. Shapes are checked by the callers.
Tensor im2col_op(const Tensor& x, const backend::Window2d& g);
Tensor col2im_op(const Tensor& cols, const backend::Window2d& g);

// floor((in + pad_total - dilation * (kernel - 1) - 1) / stride) + 1 (may be <= 0).
inline int64_t window_out_size(int64_t in, int64_t pad_total, int64_t kernel, int64_t stride,
                               int64_t dilation) {
  int64_t span = in + pad_total - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// "(3, 3)" for 2 spatial dims, "3" for one (the 1-D ops keep w only).
std::string size_str(int nsp, int64_t h, int64_t w);

// Leading batch dim for an unbatched input of rank nsp + 1 (PyTorch's convention): returns
// the (N, C, spatial...) tensor and sets `unbatched`; throws naming op for any other rank.
Tensor batchify(const char* op, const Tensor& x, int nsp, bool& unbatched);

}  // namespace tapeflow::detail
