// Indexing ops: index_select / index_add and gather / scatter_add are each other's
// derivatives; one_hot and take_along_dim are composites.
#include "autograd/elementwise_forward.h"
#include "autograd/function.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::should_record;
using namespace detail;

namespace {

// Integer index as int64, every value checked against [0, n).
Tensor checked_index(const char* op, const Tensor& index, int64_t n, int d) {
  check_defined(op, index);
  if (!is_integral(index.dtype()))
    fail(op, ": index must be an integer tensor, got dtype ", index.dtype());
  Tensor idx = cast_raw(index, kInt64).contiguous();
  for (int64_t v : idx.to_vector<int64_t>())
    if (v < 0 || v >= n)
      fail_index(op, ": index ", v, " is out of bounds for dim ", d, " with size ", n);
  return idx;
}

void check_index_shape(const char* op, const Tensor& index, const Tensor& x, int d, const char* what) {
  if (index.dim() != x.dim())
    fail(op, ": index (shape ", index.shape(), ") must have the same rank as ", what, " (shape ", x.shape(), ")");
  for (int i = 0; i < x.dim(); ++i)
    if (i != d && index.shape()[i] > x.shape()[i])
      fail(op, ": index shape ", index.shape(), " exceeds ", what, " shape ", x.shape(), " at dim ", i);
}

}  // namespace

// d index_select(x)[.., i, ..] / dx[.., index[i], ..] = 1  ->  index_add of the gradient
Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
  check_same_device("index_select", x, index);
  if (index.dim() > 1) fail("index_select: index must be 1-D, got shape ", index.shape());
  Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  int d = normalize_dim("index_select", dim, xx.dim());
  Tensor idx = checked_index("index_select", index.reshape({-1}), xx.shape()[d], d);
  Shape s = xx.shape();
  s[d] = idx.numel();
  Tensor y = make_tensor(s, x.dtype(), x.device());
  if (y.numel()) backend_of(x).index_select(view_of(xx), d, view_of(idx), view_of(y));
  if (should_record({&x}))
    record("IndexSelectBackward", {&x}, y, [d, idx, shape = xx.shape()](Node&, Grads& gs) -> Grads {
      return {index_add(zeros(shape, Options(gs[0].dtype(), gs[0].device())), d, idx, gs[0])};
    });
  return y;
}

// d/dx = identity, d/dsrc = index_select of the gradient
Tensor index_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
  check_same_device("index_add", x, index);
  check_same_device("index_add", x, src);
  if (index.dim() > 1) fail("index_add: index must be 1-D, got shape ", index.shape());
  int d = normalize_dim("index_add", dim, x.dim());
  Tensor idx = checked_index("index_add", index.reshape({-1}), x.shape()[d], d);
  Shape want = x.shape();
  want[d] = idx.numel();
  if (src.shape() != want)
    fail("index_add: src has shape ", src.shape(), " but ", want, " was expected (x ", x.shape(), ", ",
         idx.numel(), " indices along dim ", d, ")");
  Tensor y = x.detach().clone();
  if (src.numel()) backend_of(x).index_add(view_of(y), d, view_of(idx), view_of(cast_raw(src, x.dtype())));
  if (should_record({&x, &src}))
    record("IndexAddBackward", {&x, &src}, y, [d, idx](Node&, Grads& gs) -> Grads {
      return {gs[0], index_select(gs[0], d, idx)};
    });
  return y;
}

// d gather(x)[i][j] / dx[i][index[i][j]] = 1  ->  scatter_add of the gradient
Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  check_same_device("gather", x, index);
  int d = normalize_dim("gather", dim, x.dim());
  check_index_shape("gather", index, x, d, "input");
  Tensor idx = checked_index("gather", index, x.dim() ? x.shape()[d] : 1, d);
  Tensor y = make_tensor(idx.shape(), x.dtype(), x.device());
  if (y.numel()) backend_of(x).gather(view_of(x), d, view_of(idx), view_of(y));
  if (should_record({&x}))
    record("GatherBackward", {&x}, y, [d, idx, shape = x.shape()](Node&, Grads& gs) -> Grads {
      return {scatter_add(zeros(shape, Options(gs[0].dtype(), gs[0].device())), d, idx, gs[0])};
    });
  return y;
}

// d/dx = identity, d/dsrc = gather of the gradient
Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
  check_same_device("scatter_add", x, index);
  check_same_device("scatter_add", x, src);
  int d = normalize_dim("scatter_add", dim, x.dim());
  check_index_shape("scatter_add", index, src, d, "src");
  if (x.dim() && index.shape()[d] > src.shape()[d])  // src must cover the index along d too
    fail("scatter_add: index shape ", index.shape(), " exceeds src shape ", src.shape(), " at dim ", d);
  for (int i = 0; i < x.dim(); ++i)
    if (i != d && index.shape()[i] > x.shape()[i])
      fail("scatter_add: index shape ", index.shape(), " exceeds input shape ", x.shape(), " at dim ", i);
  Tensor idx = checked_index("scatter_add", index, x.dim() ? x.shape()[d] : 1, d);
  Tensor y = x.detach().clone();
  Tensor s = cast_raw(src, x.dtype());
  for (int i = 0; i < s.dim(); ++i) s = s.detach().narrow(i, 0, idx.shape()[i]);
  if (idx.numel()) backend_of(x).scatter_add(view_of(y), d, view_of(idx), view_of(s));
  if (should_record({&x, &src}))
    record("ScatterAddBackward", {&x, &src}, y, [d, idx, sshape = src.shape()](Node&, Grads& gs) -> Grads {
      Tensor gsrc = gather(gs[0], d, idx);
      if (gsrc.shape() != sshape) {
        // src entries that the index does not cover get no gradient.
        Tensor z = zeros(sshape, Options(gsrc.dtype(), gsrc.device()));
        Tensor part = z;
        for (int i = 0; i < z.dim(); ++i) part = part.narrow(i, 0, idx.shape()[i]);
        NoGradGuard ng;
        part.copy_(gsrc);
        gsrc = z;
      }
      return {gs[0], gsrc};
    });
  return y;
}

Tensor take_along_dim(const Tensor& x, const Tensor& index, int dim) {
  check_same_device("take_along_dim", x, index);
  if (!is_integral(index.dtype()))
    fail("take_along_dim: index must be an integer tensor, got dtype ", index.dtype());
  int d = normalize_dim("take_along_dim", dim, x.dim());
  if (index.dim() != x.dim())
    fail("take_along_dim: index (shape ", index.shape(), ") must have the rank of input (shape ", x.shape(), ")");
  Shape s = x.shape();
  s[d] = index.shape()[d];
  Shape bs = broadcast_or_fail("take_along_dim", s, index.shape());
  Shape xs = bs;
  xs[d] = x.shape()[d];
  return gather(x.expand(xs), d, index.expand(bs));
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  check_defined("one_hot", labels);
  if (!is_integral(labels.dtype())) fail("one_hot: labels must be an integer tensor, got dtype ", labels.dtype());
  std::vector<int64_t> v = labels.to_vector<int64_t>();
  int64_t mx = -1;
  for (int64_t x : v) {
    if (x < 0) fail_index("one_hot: label ", x, " is negative");
    mx = std::max(mx, x);
  }
  if (num_classes < 0) num_classes = mx + 1;
  if (mx >= num_classes) fail_index("one_hot: label ", mx, " is out of range for ", num_classes, " classes");
  Shape out = labels.shape();
  out.push_back(num_classes);
  checked_numel("one_hot", out, sizeof(int64_t));  // before arange/eq allocate
  Tensor classes = arange(num_classes, Options(kInt64, labels.device()));
  return eq(cast_raw(labels, kInt64).unsqueeze(-1), classes).astype(kInt64);
}

}  // namespace tapeflow
