// embedding, masked_fill, tril / triu, sort and topk (tensor/nn_ops.h). embedding gathers rows
// with index_select and scatter-adds its gradient (index_add); masked_fill / tril / triu are
// `where` with a mask; sort / topk run the backend's row sort and scatter the gradient of the
// values back to where they came from. Every backward is made of public ops (differentiable).
#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::should_record;
using namespace detail;

Tensor embedding(const Tensor& indices, const Tensor& weight, int64_t padding_idx) {
  const char* op = "embedding";
  check_defined(op, indices);
  check_defined(op, weight);
  check_same_device(op, indices, weight);
  if (weight.dim() != 2) fail(op, ": weight must be 2-D (num_embeddings, embedding_dim), got shape ", weight.shape());
  if (!is_integral(indices.dtype()) || indices.dtype() == kBool)
    fail(op, ": indices must be integers, got dtype ", indices.dtype());
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  int64_t pad = padding_idx;
  if (pad != kNoPadding) {
    if (pad < -V || pad >= V)
      fail_index(op, ": padding_idx ", padding_idx, " is out of range for an embedding table of ", V, " rows");
    if (pad < 0) pad += V;
  }
  Tensor flat = cast_raw(indices, kInt64).reshape({-1}).contiguous();
  for (int64_t v : flat.cpu().to_vector<int64_t>())
    if (v < 0 || v >= V)
      fail_index(op, ": index ", v, " is out of range for an embedding table of ", V, " rows (weight shape ",
                 weight.shape(), ")");
  Shape out_shape = indices.shape();
  out_shape.push_back(D);
  Tensor y;
  {
    NoGradGuard ng;
    y = index_select(weight, 0, flat).reshape(out_shape);
  }
  y = y.detach();
  if (should_record({&weight}))
    record("EmbeddingBackward", {&weight}, y, [flat, V, D, pad](Node&, Grads& gs) -> Grads {
      Tensor g = gs[0].reshape({-1, D});
      if (pad != kNoPadding) g = g * ne(flat, pad).unsqueeze(1).astype(g.dtype());
      return {index_add(zeros({V, D}, Options(g.dtype(), g.device())), 0, flat, g)};
    });
  if (autograd::tracing()) autograd::trace("embedding", {indices, weight}, y);
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  const char* op = "masked_fill";
  check_defined(op, x);
  check_defined(op, mask);
  check_same_device(op, x, mask);
  if (mask.dtype() != kBool) fail(op, ": mask must be bool, got dtype ", mask.dtype());
  bool ok = mask.dim() <= x.dim();
  for (int i = 1; ok && i <= mask.dim(); ++i) {
    int64_t m = mask.shape()[mask.dim() - i], s = x.shape()[x.dim() - i];
    ok = m == 1 || m == s;
  }
  if (!ok) fail(op, ": mask of shape ", mask.shape(), " does not broadcast to the input shape ", x.shape());
  return where(mask, value, x);
}

namespace {
Tensor triangle(const char* op, const Tensor& x, int64_t diagonal, bool lower) {
  check_defined(op, x);
  if (x.dim() < 2) fail(op, ": expected a tensor of at least 2 dims, got shape ", x.shape());
  const int64_t R = x.shape()[x.dim() - 2], C = x.shape()[x.dim() - 1];
  Options io(kInt64, x.device());
  Tensor d = sub(arange(C, io).unsqueeze(0), arange(R, io).unsqueeze(1));  // j - i
  Tensor keep = lower ? le(d, diagonal) : ge(d, diagonal);
  Tensor y = where(keep, x, zeros({}, Options(x.dtype(), x.device())));
  // Reported after its parts (a Where with a constant mask): ONNX's Trilu replaces them.
  if (autograd::tracing()) autograd::trace("trilu", {x}, y, {{"upper", {lower ? 0 : 1}}, {"k", {diagonal}}});
  return y;
}

// Sorts along `dim` keeping the first k: (values, indices), recorded on values.
std::pair<Tensor, Tensor> sort_impl(const char* op, const Tensor& x0, int dim, int64_t k, bool descending) {
  Tensor x = x0.dim() == 0 ? x0.reshape({1}) : x0;
  const int d = normalize_dim(op, dim, x.dim());
  const int64_t n = x.shape()[d];
  if (k < 0 || k > n) fail_index(op, ": k = ", k, " is out of range for dim ", dim, " of size ", n, " (input shape ", x0.shape(), ")");
  const DType dt = x.dtype();
  const bool native = dt == kFloat32 || dt == kFloat64 || dt == kInt64 || dt == kInt32;
  Tensor xt = cast_raw(x, native ? dt : kFloat64).transpose(d, x.dim() - 1).contiguous();
  Shape ts = xt.shape();
  const int64_t M = n ? xt.numel() / n : 0;
  ts[ts.size() - 1] = k;
  Tensor vals = make_tensor(ts, xt.dtype(), x.device()), idx = make_tensor(ts, kInt64, x.device());
  if (M * k > 0) {
    backend::View xv = view_of(xt), vv = view_of(vals), iv = view_of(idx);
    xv.rank = vv.rank = iv.rank = 2;
    xv.shape[0] = vv.shape[0] = iv.shape[0] = M;
    xv.shape[1] = n; vv.shape[1] = iv.shape[1] = k;
    xv.strides[0] = n; vv.strides[0] = iv.strides[0] = k;
    xv.strides[1] = vv.strides[1] = iv.strides[1] = 1;
    backend_of(xt).sort_rows(xv, k, descending, vv, iv);
  }
  Tensor y = cast_raw(vals, dt).transpose(d, x.dim() - 1).contiguous();
  Tensor ind = idx.transpose(d, x.dim() - 1).contiguous();
  if (x0.dim() == 0) { y = y.reshape({}); ind = ind.reshape({}); }
  y = y.detach();
  if (should_record({&x0}))
    record("SortBackward", {&x0}, y, [ind, d, xs = x.shape(), s0 = x0.shape()](Node&, Grads& gs) -> Grads {
      Tensor g = gs[0].reshape(ind.dim() == 0 ? Shape{1} : ind.shape());
      Tensor i = ind.dim() == 0 ? ind.reshape({1}) : ind;
      return {scatter_add(zeros(xs, Options(g.dtype(), g.device())), d, i, g).reshape(s0)};
    });
  return {y, ind};
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle("tril", x, diagonal, true); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle("triu", x, diagonal, false); }

std::pair<Tensor, Tensor> sort(const Tensor& x, int dim, bool descending, bool stable) {
  (void)stable;  // always stable
  check_defined("sort", x);
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[normalize_dim("sort", dim, x.dim())];
  return sort_impl("sort", x, dim, n, descending);
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int dim, bool largest, bool sorted) {
  (void)sorted;  // always sorted
  check_defined("topk", x);
  return sort_impl("topk", x, dim, k, largest);
}

}  // namespace tapeflow
