// scaled_dot_product_attention (tensor/nn_ops.h): scores = q k^T * scale (one batched gemm),
// masks applied with where / add, the fused stable softmax, then p v. Rows with every position
// masked are set to zero scores before the softmax (no NaN) and their weights multiplied by 0,
// so they give zero output and zero gradient. Differentiable through the public ops.
#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow {

using namespace detail;

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    bool is_causal, std::optional<double> scale) {
  const char* op = "scaled_dot_product_attention";
  check_defined(op, q);
  check_defined(op, k);
  check_defined(op, v);
  check_same_device(op, q, k);
  check_same_device(op, q, v);
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2)
    fail(op, ": q, k and v must be at least 2-D (..., L, E), got shapes ", q.shape(), ", ", k.shape(), ", ", v.shape());
  if (!is_floating(q.dtype()) || q.dtype() != k.dtype() || q.dtype() != v.dtype())
    fail(op, ": q, k and v must share a float dtype, got ", q.dtype(), ", ", k.dtype(), ", ", v.dtype());
  const int64_t L = q.size(-2), E = q.size(-1), S = k.size(-2);
  if (k.size(-1) != E)
    fail(op, ": q and k must have the same last dim (embedding size), got shapes ", q.shape(), " and ", k.shape());
  if (v.size(-2) != S)
    fail(op, ": k and v must have the same sequence length (dim -2), got shapes ", k.shape(), " and ", v.shape());
  if (is_causal && attn_mask.defined()) fail(op, ": give either attn_mask or is_causal = true, not both");
  const double sc = scale ? *scale : 1.0 / std::sqrt(double(E));
  Tensor scores = matmul(q, k.transpose(-2, -1)) * sc;  // (..., L, S)
  bool masked = false;
  const double ninf = -std::numeric_limits<double>::infinity();
  if (attn_mask.defined()) {
    check_same_device(op, q, attn_mask);
    const Shape& ms = attn_mask.shape();
    bool ok = attn_mask.dim() <= scores.dim();
    for (int i = 1; ok && i <= attn_mask.dim(); ++i) {
      int64_t m = ms[attn_mask.dim() - i], t = scores.shape()[scores.dim() - i];
      ok = m == 1 || m == t;
    }
    if (!ok)
      fail(op, ": attn_mask of shape ", ms, " does not broadcast to the attention weights' shape ", scores.shape(),
           " (..., L, S)");
    if (attn_mask.dtype() == kBool) {
      scores = where(attn_mask, scores, Scalar(ninf));
    } else {
      if (!is_floating(attn_mask.dtype())) fail(op, ": attn_mask must be bool or float, got dtype ", attn_mask.dtype());
      scores = scores + attn_mask.astype(scores.dtype());
    }
    masked = true;
  }
  if (is_causal) {
    Tensor keep = tril(ones({L, S}, Options(kBool, q.device())));
    scores = where(keep, scores, Scalar(ninf));
    masked = true;
  }
  Tensor p;
  if (masked) {
    Tensor valid;
    {
      NoGradGuard ng;
      valid = gt(max(scores, -1, true), ninf);  // rows with at least one position (not detach(): traced)
    }
    p = softmax(where(valid, scores, Scalar(0.0)), -1) * valid.astype(scores.dtype());
  } else {
    p = softmax(scores, -1);
  }
  return matmul(p, v);
}

}  // namespace tapeflow
