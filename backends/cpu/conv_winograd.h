// Winograd F(2x2, 3x3) for the float32 fused convolution (backends/cpu/conv.cpp): a 3x3,
// stride 1, dilation 1, single-group convolution as 16 products of (K, C) @ (C, tiles) over
// the tile positions: 2.25x fewer multiplications than im2col + gemm. Used for the forward, the
// weight gradient and the input gradient (a 3x3 stride-1 convolution of the output gradient with the flipped,
// channel-transposed kernel, padded by 2 - pad). Accuracy: the transforms only add, subtract
// and halve, so the rounding error stays within a few ulps of the sums of |terms| (the tests
// in tests/test_conv_winograd.cpp bound it against float64 loops).
#pragma once
#include <cstdint>

namespace tapeflow::backend::cpu {

// y (N, K, OH, OW) = sum over c, i, j of x[n, c, oh + i - ph, ow + j - pw] * w(k, c, i, j)
// (zero outside x), OH = H + 2 ph - 2, OW = W + 2 pw - 2, ph / pw in [0, 2]. w is (K, C, 3, 3);
// with `flip_transpose`, w(k, c, i, j) = wt[c, k, 2 - i, 2 - j] of wt (C, K, 3, 3).
void winograd3x3(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw,
                 const float* w, int64_t K, bool flip_transpose, float* y);

// gw (K, C, 3, 3) = the weight gradient of that convolution (flip_transpose false) for the
// output gradient gy (N, K, OH, OW); gw is overwritten.
void winograd3x3_grad_weight(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw,
                             const float* gy, int64_t K, float* gw);

// Where winograd3x3 pays off: enough channels both ways for the products (C, K >= 8).
inline bool winograd_worth(int64_t C, int64_t K) { return C >= 8 && K >= 8; }

}  // namespace tapeflow::backend::cpu
