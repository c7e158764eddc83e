// Every tensor op as a free function. Each runs eagerly through the device backend and, when
// grad mode is on and an input requires grad, records itself on the tape (autograd/).
// Binary ops broadcast as NumPy does and promote dtypes as PyTorch does; C++ numbers are
// accepted on either side.
#pragma once
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow {

// ---- element-wise, unary ----
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor erf(const Tensor& x);  // float-only: integers are computed in float32
// x * Phi(x) (Phi: the standard normal CDF): approximate "none" (exact, via erf) or "tanh"
// (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch's gelu(approximate="tanh")).
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);  // half to even, as NumPy
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi);
Tensor clamp_min(const Tensor& x, Scalar lo);
Tensor clamp_max(const Tensor& x, Scalar hi);
Tensor pow(const Tensor& x, Scalar exponent);
Tensor logical_not(const Tensor& x);

// ---- element-wise, binary (broadcasting) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division: integers give float32
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// Scalar forms (PyTorch's): a number takes the tensor's dtype where it fits (where(c, x, 0.0f)
// keeps x's float32); two numbers give int64, float32 or bool.
Tensor where(const Tensor& cond, const Tensor& a, Scalar b);
Tensor where(const Tensor& cond, Scalar a, const Tensor& b);
Tensor where(const Tensor& cond, Scalar a, Scalar b);
// Scalar forms (wrap the number as a 0-d tensor).
Tensor wrap(Scalar s);
#define TAPEFLOW_SCALAR_FORMS(FN)                                                     \
  inline Tensor FN(const Tensor& a, Scalar b) { return FN(a, wrap(b)); }              \
  inline Tensor FN(Scalar a, const Tensor& b) { return FN(wrap(a), b); }
TAPEFLOW_SCALAR_FORMS(add)
TAPEFLOW_SCALAR_FORMS(sub)
TAPEFLOW_SCALAR_FORMS(mul)
TAPEFLOW_SCALAR_FORMS(div)
TAPEFLOW_SCALAR_FORMS(maximum)
TAPEFLOW_SCALAR_FORMS(minimum)
TAPEFLOW_SCALAR_FORMS(eq)
TAPEFLOW_SCALAR_FORMS(ne)
TAPEFLOW_SCALAR_FORMS(lt)
TAPEFLOW_SCALAR_FORMS(le)
TAPEFLOW_SCALAR_FORMS(gt)
TAPEFLOW_SCALAR_FORMS(ge)
#undef TAPEFLOW_SCALAR_FORMS
inline Tensor pow(Scalar a, const Tensor& b) { return pow(wrap(a), b); }

#define TAPEFLOW_BINARY_OPERATOR(OP, FN)                                                     \
  inline Tensor operator OP(const Tensor& a, const Tensor& b) { return FN(a, b); }           \
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>                     \
  inline Tensor operator OP(const Tensor& a, T b) { return FN(a, wrap(Scalar(b))); }         \
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>                     \
  inline Tensor operator OP(T a, const Tensor& b) { return FN(wrap(Scalar(a)), b); }
TAPEFLOW_BINARY_OPERATOR(+, add)
TAPEFLOW_BINARY_OPERATOR(-, sub)
TAPEFLOW_BINARY_OPERATOR(*, mul)
TAPEFLOW_BINARY_OPERATOR(/, div)
TAPEFLOW_BINARY_OPERATOR(==, eq)
TAPEFLOW_BINARY_OPERATOR(!=, ne)
TAPEFLOW_BINARY_OPERATOR(<, lt)
TAPEFLOW_BINARY_OPERATOR(<=, le)
TAPEFLOW_BINARY_OPERATOR(>, gt)
TAPEFLOW_BINARY_OPERATOR(>=, ge)
#undef TAPEFLOW_BINARY_OPERATOR
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator!(const Tensor& x) { return logical_not(x); }

// ---- reductions ----
Tensor sum(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor prod(const Tensor& x, Axes axes = {}, bool keepdims = false);
// max/min: the gradient is split evenly between tied maxima (as PyTorch's amax does).
Tensor max(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);  // int64, first of ties
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor
Tensor argmin(const Tensor& x);
Tensor var(const Tensor& x, Axes axes = {}, int64_t correction = 1, bool keepdims = false);
Tensor std(const Tensor& x, Axes axes = {}, int64_t correction = 1, bool keepdims = false);
Tensor logsumexp(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor all(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor any(const Tensor& x, Axes axes = {}, bool keepdims = false);
Tensor cumsum(const Tensor& x, int axis);
// Sums x down to `shape` (the reverse of broadcasting x from shape).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b);  // NumPy semantics, batched + broadcast
Tensor dot(const Tensor& a, const Tensor& b);     // 1-D . 1-D -> 0-d
Tensor outer(const Tensor& a, const Tensor& b);
Tensor addmm(const Tensor& bias, const Tensor& x, const Tensor& w);  // x @ w + bias, fused

// ---- shape (views where possible) ----
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int d0, int d1);
Tensor permute(const Tensor& x, const std::vector<int>& dims);
Tensor squeeze(const Tensor& x, int dim);
Tensor unsqueeze(const Tensor& x, int dim);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor slice(const Tensor& x, int dim, int64_t start, int64_t stop = kEnd, int64_t step = 1);
Tensor select(const Tensor& x, int dim, int64_t index);
Tensor concat(const std::vector<Tensor>& xs, int dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int dim = 0);
Shape broadcast_shapes(const Shape& a, const Shape& b);  // throws if they do not broadcast

// ---- indexing ----
Tensor index_select(const Tensor& x, int dim, const Tensor& index);  // index: 1-D integer
Tensor gather(const Tensor& x, int dim, const Tensor& index);        // index: same rank as x
Tensor take_along_dim(const Tensor& x, const Tensor& index, int dim);
Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src);
Tensor index_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src);
Tensor one_hot(const Tensor& labels, int64_t num_classes = -1);  // int64 result

// ---- nn helpers ----
Tensor softmax(const Tensor& x, int dim = -1);
Tensor log_softmax(const Tensor& x, int dim = -1);  // stable for logits of magnitude 1e4
// Fused, per-row (no reduction) cross-entropy of logits (N, C) against integer labels (N,):
// returns (N,) = logsumexp(logits_i) - logits_i[label_i]. Stable for logits of magnitude 1e4.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels);
// Per-row cross-entropy of logits against a probability target (e.g. one-hot) of the same
// shape: returns -sum(target * log_softmax(logits), dim). Fused and stable.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& target, int dim = -1);

}  // namespace tapeflow
