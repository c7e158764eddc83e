// Shape and view ops: reshape/view, permute/transpose, squeeze/unsqueeze, expand, slicing and
// selection. Views share storage; their backward reshapes, permutes or scatters the gradient
// back into the input's geometry.
#include <functional>
#include <optional>

#include "autograd/function.h"
#include "autograd/trace.h"
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

// Strides that let `shape` view memory laid out as (old_shape, old_strides), if any.
std::optional<Strides> view_strides(const Shape& os, const Strides& ost, const Shape& ns) {
  Strides st;
  st.resize(ns.size());
  if (os.numel() == 0 || os.size() == 0) return contiguous_strides(ns);
  int view_d = ns.size() - 1;
  int64_t chunk_base = ost[os.size() - 1], tensor_numel = 1, view_numel = 1;
  for (int td = os.size() - 1; td >= 0; --td) {
    tensor_numel *= os[td];
    if (td == 0 || (os[td - 1] != 1 && ost[td - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || ns[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base;
        view_numel *= ns[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (td > 0) {
        chunk_base = ost[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

Shape infer_shape(const char* op, const Shape& want, int64_t numel, const Shape& from) {
  Shape s = want;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) fail(op, ": only one dimension can be inferred (-1), got shape ", want);
      infer = i;
    } else if (s[i] < 0) {
      fail(op, ": invalid dimension ", s[i], " in shape ", want);
    } else if (__builtin_mul_overflow(known, s[i], &known)) {
      fail(op, ": cannot reshape tensor of shape ", from, " (", numel, " elements) into shape ", want,
           " (the element count overflows int64)");
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      fail(op, ": cannot reshape tensor of shape ", from, " (", numel, " elements) into shape ", want);
    s[infer] = numel / known;
  }
  if (s.numel() != numel)
    fail(op, ": cannot reshape tensor of shape ", from, " (", numel, " elements) into shape ", want,
         " (", s.numel(), " elements)");
  return s;
}

// Records a view op whose backward reshapes the gradient to the input shape (traced as a
// reshape to y's shape: reshape, view, flatten, squeeze, unsqueeze).
Tensor reshape_like_view(const char* node, const Tensor& x, Tensor y) {
  if (should_record({&x}))
    record(node, {&x}, y, [shape = x.shape()](Node&, Grads& gs) -> Grads { return {gs[0].reshape(shape)}; });
  if (autograd::tracing()) autograd::trace("reshape", {x}, y);
  return y;
}

using ViewFn = std::function<Tensor(const Tensor&)>;

// zeros(base_shape) with g written into view(zeros): the backward of slicing and selection.
// Differentiable itself (its backward applies the view to the incoming gradient).
Tensor scatter_into_view(const Tensor& g, const Shape& base_shape, const ViewFn& view) {
  Tensor z = zeros(base_shape, Options(g.dtype(), g.device()));
  {
    NoGradGuard ng;
    view(z).copy_(g.detach());
  }
  if (should_record({&g}))
    record("ViewScatterBackward", {&g}, z, [view](Node&, Grads& gs) -> Grads { return {view(gs[0])}; });
  return z;
}

Tensor recorded_view(const char* node, const Tensor& x, Tensor y, ViewFn view) {
  if (should_record({&x}))
    record(node, {&x}, y, [shape = x.shape(), view = std::move(view)](Node&, Grads& gs) -> Grads {
      return {scatter_into_view(gs[0], shape, view)};
    });
  return y;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined("reshape", x);
  Shape s = infer_shape("reshape", shape, x.numel(), x.shape());
  auto st = view_strides(x.shape(), x.strides(), s);
  Tensor base = st ? x : x.contiguous();
  if (!st) st = contiguous_strides(s);
  Tensor y = make_view_of(base, s, *st, base.offset());
  return reshape_like_view("ReshapeBackward", base, y);
}

Tensor Tensor::reshape(const Shape& s) const { return tapeflow::reshape(*this, s); }

Tensor Tensor::view(const Shape& shape) const {
  check_defined("view", *this);
  Shape s = infer_shape("view", shape, numel(), this->shape());
  auto st = view_strides(this->shape(), strides(), s);
  if (!st)
    fail("view: shape ", shape, " is not compatible with the strides of a tensor of shape ",
         this->shape(), " (it is not contiguous enough); use reshape() instead");
  return reshape_like_view("ViewBackward", *this, make_view_of(*this, s, *st, offset()));
}

Tensor Tensor::flatten(int start, int end) const {
  check_defined("flatten", *this);
  if (dim() == 0) return reshape({1});
  int s = normalize_dim("flatten", start, dim()), e = normalize_dim("flatten", end, dim());
  if (s > e) fail("flatten: start_dim ", start, " comes after end_dim ", end);
  Shape ns;
  for (int i = 0; i < s; ++i) ns.push_back(shape()[i]);
  int64_t p = 1;
  for (int i = s; i <= e; ++i) p *= shape()[i];
  ns.push_back(p);
  for (int i = e + 1; i < dim(); ++i) ns.push_back(shape()[i]);
  return reshape(ns);
}

Tensor permute(const Tensor& x, const std::vector<int>& dims) {
  check_defined("permute", x);
  if ((int)dims.size() != x.dim())
    fail("permute: got ", dims.size(), " dims for a tensor of rank ", x.dim());
  Shape s, st;
  std::vector<int> inv(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int d = normalize_dim("permute", dims[i], x.dim());
    if (inv[d] >= 0) fail("permute: dim ", dims[i], " repeats");
    inv[d] = (int)i;
    s.push_back(x.shape()[d]);
    st.push_back(x.strides()[d]);
  }
  Tensor y = make_view_of(x, s, st, x.offset());
  if (should_record({&x}))  // the gradient is permuted back
    record("PermuteBackward", {&x}, y, [inv](Node&, Grads& gs) -> Grads { return {permute(gs[0], inv)}; });
  if (autograd::tracing()) {
    std::vector<int64_t> perm;
    for (int d : dims) perm.push_back(normalize_dim("permute", d, x.dim()));
    autograd::trace("permute", {x}, y, {{"perm", perm}});
  }
  return y;
}

Tensor transpose(const Tensor& x, int d0, int d1) {
  check_defined("transpose", x);
  if (x.dim() == 0) {
    normalize_dim("transpose", d0, 0);
    normalize_dim("transpose", d1, 0);
    return x;
  }
  std::vector<int> p(x.dim());
  for (int i = 0; i < x.dim(); ++i) p[i] = i;
  std::swap(p[normalize_dim("transpose", d0, x.dim())], p[normalize_dim("transpose", d1, x.dim())]);
  return permute(x, p);
}

Tensor squeeze(const Tensor& x, int dim) {
  check_defined("squeeze", x);
  int d = normalize_dim("squeeze", dim, x.dim());
  if (x.dim() == 0) return x;
  if (x.shape()[d] != 1) return x;
  Shape s = x.shape(), st = x.strides();
  s.erase(d);
  st.erase(d);
  return reshape_like_view("SqueezeBackward", x, make_view_of(x, s, st, x.offset()));
}

Tensor unsqueeze(const Tensor& x, int dim) {
  check_defined("unsqueeze", x);
  if (dim < -(x.dim() + 1) || dim > x.dim())
    fail_index("unsqueeze: dim ", dim, " is out of range for a tensor of rank ", x.dim(), " (expected in [",
               -(x.dim() + 1), ", ", x.dim(), "])");
  int d = normalize_dim("unsqueeze", dim, x.dim() + 1);
  Shape s = x.shape(), st = x.strides();
  int64_t stride = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  s.insert(d, 1);
  st.insert(d, stride);
  return reshape_like_view("UnsqueezeBackward", x, make_view_of(x, s, st, x.offset()));
}

Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined("expand", x);
  if (shape.size() < x.dim())
    fail("expand: cannot expand shape ", x.shape(), " to ", shape, " (fewer dims)");
  Shape s = shape, st;
  st.resize(shape.size());
  int lead = shape.size() - x.dim();
  for (int i = 0; i < shape.size(); ++i) {
    int j = i - lead;
    int64_t have = j >= 0 ? x.shape()[j] : 1;
    if (s[i] == -1) {
      if (j < 0) fail("expand: -1 is not allowed for a new leading dim (shape ", shape, ")");
      s[i] = have;
    } else if (s[i] < 0) {
      fail("expand: invalid size ", s[i], " in shape ", shape);
    }
    if (have == s[i]) st[i] = j >= 0 ? x.strides()[j] : 0;
    else if (have == 1) st[i] = 0;
    else fail("expand: cannot expand shape ", x.shape(), " to ", shape, " (dim ", i, ": ", have, " vs ", s[i], ")");
  }
  checked_numel("expand", s, dtype_size(x.dtype()));
  Tensor y = make_view_of(x, s, st, x.offset());
  if (should_record({&x}))  // the engine sums the gradient back to x's shape
    record("ExpandBackward", {&x}, y, [](Node&, Grads& gs) -> Grads { return {gs[0]}; });
  if (autograd::tracing()) autograd::trace("expand", {x}, y);
  return y;
}
Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

Tensor slice(const Tensor& x, int dim, int64_t start, int64_t stop, int64_t step) {
  check_defined("slice", x);
  if (x.dim() == 0) fail("slice: cannot slice a 0-d tensor");
  int d = normalize_dim("slice", dim, x.dim());
  if (step <= 0) fail("slice: step must be positive, got ", step);
  int64_t n = x.shape()[d];
  auto clampi = [n](int64_t i) { if (i < 0) i += n; return i < 0 ? 0 : (i > n ? n : i); };
  int64_t b = clampi(start), e = stop == kEnd ? n : clampi(stop);
  int64_t len = e > b ? (e - b - 1) / step + 1 : 0;  // no overflow for a huge step
  Shape s = x.shape(), st = x.strides();
  s[d] = len;
  st[d] = len > 1 ? x.strides()[d] * step : x.strides()[d];  // len > 1: step < n, no overflow
  Tensor y = make_view_of(x, s, st, x.offset() + (len ? b * x.strides()[d] : 0));
  return recorded_view("SliceBackward", x, y, [d, start, stop, step](const Tensor& t) { return slice(t, d, start, stop, step); });
}

Tensor select(const Tensor& x, int dim, int64_t index) {
  check_defined("select", x);
  if (x.dim() == 0) fail_index("select: cannot index a 0-d tensor");
  int d = normalize_dim("select", dim, x.dim());
  int64_t n = x.shape()[d];
  if (index < -n || index >= n)
    fail_index("select: index ", index, " is out of bounds for dim ", d, " with size ", n);
  int64_t i = index < 0 ? index + n : index;
  Shape s = x.shape(), st = x.strides();
  s.erase(d);
  st.erase(d);
  Tensor y = make_view_of(x, s, st, x.offset() + i * x.strides()[d]);
  return recorded_view("SelectBackward", x, y, [d, i](const Tensor& t) { return select(t, d, i); });
}

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  if (xs.empty()) fail("concat: expected a non-empty list of tensors");
  const Tensor& f = xs[0];
  check_defined("concat", f);
  if (f.dim() == 0) fail("concat: zero-dimensional tensors cannot be concatenated");
  int d = normalize_dim("concat", dim, f.dim());
  DType dt = f.dtype();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_same_device("concat", f, xs[i]);
    if (xs[i].dim() != f.dim())
      fail("concat: tensor ", i, " has rank ", xs[i].dim(), " but tensor 0 has rank ", f.dim());
    for (int k = 0; k < f.dim(); ++k)
      if (k != d && xs[i].shape()[k] != f.shape()[k])
        fail("concat: shapes ", f.shape(), " and ", xs[i].shape(), " differ outside dim ", d);
    dt = promote_types(dt, xs[i].dtype());
    if (__builtin_add_overflow(total, xs[i].shape()[d], &total))
      fail("concat: the concatenated dim ", d, " overflows int64");
  }
  Shape s = f.shape();
  s[d] = total;
  Tensor y = make_tensor(s, dt, f.device(), "concat");
  std::vector<int64_t> sizes;
  int64_t off = 0;
  for (const Tensor& t : xs) {
    int64_t len = t.shape()[d];
    sizes.push_back(len);
    if (len && t.numel()) {
      Shape vs = s;
      vs[d] = len;
      Tensor part = make_view_of(y, vs, y.strides(), off * y.strides()[d]);
      backend_of(t).copy_strided(view_of(t), view_of(part));
    }
    off += len;
  }
  if (should_record(xs)) {
    std::vector<const Tensor*> ins;
    for (const Tensor& t : xs) ins.push_back(&t);
    record("ConcatBackward", ins, y, [d, sizes](Node&, Grads& gs) -> Grads {
      Grads out;
      int64_t o = 0;
      for (int64_t len : sizes) { out.push_back(gs[0].narrow(d, o, len)); o += len; }
      return out;
    });
  }
  if (autograd::tracing()) autograd::trace("concat", xs, y, {{"axis", {d}}});
  return y;
}

Tensor stack(const std::vector<Tensor>& xs, int dim) {
  if (xs.empty()) fail("stack: expected a non-empty list of tensors");
  int d = normalize_dim("stack", dim, xs[0].dim() + 1);
  std::vector<Tensor> us;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_defined("stack", xs[i]);
    if (xs[i].shape() != xs[0].shape())
      fail("stack: expected every tensor to have shape ", xs[0].shape(), ", tensor ", i, " has ", xs[i].shape());
    us.push_back(unsqueeze(xs[i], d));
  }
  return concat(us, d);
}

static void check_splittable(const char* op, const Tensor& x) {
  check_defined(op, x);
  if (x.dim() == 0) fail(op, ": expected a tensor with at least one dim, got a 0-d tensor");
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim) {
  check_splittable("split", x);
  int d = normalize_dim("split", dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) fail("split: negative size ", s);
    if (__builtin_add_overflow(total, s, &total)) fail("split: the sizes overflow int64");
  }
  if (total != x.shape()[d])
    fail("split: sizes add up to ", total, " but dim ", d, " of shape ", x.shape(), " has size ", x.shape()[d]);
  std::vector<Tensor> out;
  int64_t off = 0;
  for (int64_t s : sizes) { out.push_back(x.narrow(d, off, s)); off += s; }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int dim) {
  check_splittable("split", x);
  int d = normalize_dim("split", dim, x.dim());
  if (split_size <= 0) fail("split: split_size must be positive, got ", split_size);
  std::vector<int64_t> sizes;
  for (int64_t n = x.shape()[d]; n > 0; n -= split_size) sizes.push_back(std::min(n, split_size));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int dim) {
  check_splittable("chunk", x);
  if (chunks <= 0) fail("chunk: number of chunks must be positive, got ", chunks);
  int d = normalize_dim("chunk", dim, x.dim());
  int64_t n = x.shape()[d];
  int64_t size = n == 0 ? 0 : (n - 1) / chunks + 1;
  return split(x, size > 0 ? size : 1, d);
}

Tensor Tensor::narrow(int dim, int64_t start, int64_t length) const {
  check_defined("narrow", *this);
  int d = normalize_dim("narrow", dim, this->dim());
  int64_t n = shape()[d];
  if (start < 0) start += n;
  if (start < 0 || length < 0 || start > n || length > n - start)
    fail_index("narrow: start ", start, " and length ", length, " are out of range for dim ", d, " of size ", n);
  return tapeflow::slice(*this, d, start, start + length, 1);
}

}  // namespace tapeflow
