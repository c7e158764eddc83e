// Tensor handle basics: geometry helpers, access, conversion between dtypes and devices.
#include "tensor/tensor.h"

#include <cstring>
#include <new>

#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

namespace detail {

Strides contiguous_strides(const Shape& shape) {
  Strides s;
  s.resize(shape.size());
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i] > 0 ? shape[i] : 1;
  }
  return s;
}

int64_t checked_numel(const char* op, const Shape& shape, size_t itemsize) {
  for (int64_t d : shape)
    if (d < 0) fail(op, ": negative dimension ", d, " in shape ", shape);
  // The element count, and every contiguous stride and the byte count, must fit in int64 (a
  // zero dim does not excuse the others: strides are products of them).
  int64_t n = 1, span = (int64_t)(itemsize ? itemsize : 1);
  bool over = false;
  for (int64_t d : shape) {
    over = __builtin_mul_overflow(span, d > 0 ? d : 1, &span);
    if (over) break;
    n *= d;  // |n| <= span: no overflow
  }
  if (over)
    fail(op, ": shape ", shape, " has too many elements (the element or byte count overflows int64)");
  return n;
}

Tensor make_tensor(const Shape& shape, DType dtype, Device device, const char* op) {
  int64_t n = checked_numel(op, shape, dtype_size(dtype));
  auto impl = make_intrusive<TensorImpl>();
  try {
    impl->storage = make_intrusive<Storage>((size_t)n * dtype_size(dtype), device);
  } catch (const std::bad_alloc&) {
    fail(op, ": out of memory allocating a tensor of shape ", shape, " and dtype ", dtype, " (",
         (size_t)n * dtype_size(dtype), " bytes)");
  } catch (const Error& e) {  // the backend's "out of memory" names no op
    fail(op, ": ", e.what(), " (a tensor of shape ", shape, " and dtype ", dtype, ")");
  }
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view_of(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset) {
  auto impl = make_intrusive<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

backend::View view_of(const Tensor& t) {
  backend::View v;
  const TensorImpl* im = t.impl();
  // An empty storage has no data: a view of it with an offset (a slice of a (0, 4) tensor) must
  // not add the offset to the null pointer (undefined; found by tests/fuzz/fuzz_tensor_ops).
  char* base = static_cast<char*>(im->storage->data);
  v.data = base ? base + im->offset * (int64_t)dtype_size(im->dtype) : nullptr;
  v.dtype = im->dtype;
  v.rank = im->shape.size();
  // Whole arrays (a Shape's entries past its size are zero): fixed-size copies, no loop over
  // the rank, and the View's own zeroing of them goes away.
  static_assert(sizeof(v.shape) == sizeof(int64_t) * kMaxDims && sizeof(v.strides) == sizeof(v.shape));
  std::memcpy(v.shape, im->shape.data(), sizeof(v.shape));
  std::memcpy(v.strides, im->strides.data(), sizeof(v.strides));
  return v;
}

backend::View view_as(const Tensor& t, const Shape& shape) {
  backend::View v = view_of(t);
  int r = shape.size(), tr = t.dim();
  v.rank = r;
  for (int i = r - 1, j = tr - 1; i >= 0; --i, --j) {
    v.shape[i] = shape[i];
    if (j >= 0 && t.shape()[j] == shape[i]) v.strides[i] = t.strides()[j];
    else v.strides[i] = 0;
  }
  return v;
}

void undefined_tensor(const char* fn) { fail(fn, ": got an undefined tensor"); }

void check_defined(const char* op, const Tensor& t) {
  if (!t.defined()) undefined_tensor(op);
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a);
  check_defined(op, b);
  if (a.device() != b.device())
    fail(op, ": expected all tensors on the same device, got ", a.device(), " and ", b.device());
}

int normalize_dim(const char* op, int dim, int rank) {
  int r = rank == 0 ? 1 : rank;
  if (dim < -r || dim >= r)
    fail_index(op, ": dim ", dim, " is out of range for a tensor of rank ", rank,
               " (expected in [", -r, ", ", r - 1, "])");
  return dim < 0 ? dim + r : dim;
}

uint32_t axes_mask(const char* op, const Axes& axes, int rank) {
  if (axes.all) return rank == 0 ? 0u : ((1u << rank) - 1u);
  uint32_t m = 0;
  for (int a : axes.axes) {
    if (rank == 0 && (a == 0 || a == -1)) continue;
    int d = normalize_dim(op, a, rank);
    if (m & (1u << d)) fail(op, ": axis ", a, " appears twice");
    m |= 1u << d;
  }
  return m;
}

uint32_t axes_mask(const char* op, const Axes& axes, const Tensor& x) {
  check_defined(op, x);
  return axes_mask(op, axes, x.dim());
}

Tensor cast_raw(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = make_tensor(t.shape(), dtype, t.device(), "astype");
  backend_of(t).copy_strided(view_of(t), view_of(out));
  return out;
}

static int category(DType t) { return t == kBool ? 0 : (is_floating(t) ? 2 : 1); }
static DType default_of_category(int c) { return c == 0 ? kBool : (c == 1 ? kInt64 : kFloat32); }

DType result_type(const Tensor& a, const Tensor& b) {
  const TensorImpl* ia = a.impl();
  const TensorImpl* ib = b.impl();
  if (ia->dtype == ib->dtype) return ia->dtype;
  int have[3] = {0, 0, 0};
  DType slot[3] = {kBool, kBool, kBool};  // dimensioned, zero-dim, wrapped
  for (const TensorImpl* t : {ia, ib}) {
    int k = t->wrapped_number ? 2 : (t->shape.size() > 0 ? 0 : 1);
    slot[k] = have[k] ? promote_types(slot[k], t->dtype) : t->dtype;
    have[k] = 1;
  }
  bool set = false;
  DType r = kBool;
  for (int k = 0; k < 3; ++k) {
    if (!have[k]) continue;
    if (!set) { r = slot[k]; set = true; continue; }
    if (category(slot[k]) > category(r))
      r = promote_types(r, k == 2 ? default_of_category(category(slot[k])) : slot[k]);
  }
  return r;
}

}  // namespace detail

using namespace detail;

int64_t Tensor::size(int d) const {
  check_defined("size", *this);
  if (dim() == 0) fail_index("size: a 0-d tensor has no dim ", d);
  return shape()[normalize_dim("size", d, dim())];
}

bool Tensor::is_contiguous() const {
  check_defined("is_contiguous", *this);
  int64_t expect = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape()[i] != 1 && strides()[i] != expect) return shape().numel() == 0;
    expect *= shape()[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  check_defined("raw_data", *this);
  char* base = static_cast<char*>(impl_->storage->data);
  return base ? base + impl_->offset * (int64_t)dtype_size(dtype()) : nullptr;  // as view_of
}

template <ElementType T>
T* Tensor::data_ptr() const {
  check_defined("data_ptr", *this);
  if (dtype() != dtype_v<T>)
    fail("data_ptr: tensor has dtype ", dtype(), " but ", dtype_name(dtype_v<T>), " was asked for");
  if (!is_contiguous()) fail("data_ptr: tensor of shape ", shape(), " is not contiguous (call .contiguous())");
  if (!device().is_cpu()) fail("data_ptr: tensor is on ", device(), "; call .cpu() first");
  return static_cast<T*>(raw_data());
}

template <ElementType T>
std::vector<T> Tensor::to_vector() const {
  check_defined("to_vector", *this);
  Tensor c = cast_raw(detach(), dtype_v<T>).to(Device::cpu()).contiguous();
  const T* p = static_cast<const T*>(c.raw_data());
  return std::vector<T>(p, p + c.numel());
}

namespace {
template <class T>
T item_of(const Tensor& t) {
  check_defined("item", t);
  if (t.numel() != 1)
    fail("item: a tensor with ", t.numel(), " elements cannot be converted to a scalar (shape ", t.shape(), ")");
  return t.to_vector<T>()[0];
}
}  // namespace

bool Tensor::item_as_bool() const { return item_of<bool>(*this); }
int64_t Tensor::item_as_int64() const { return item_of<int64_t>(*this); }
double Tensor::item_as_double() const { return item_of<double>(*this); }

#define TAPEFLOW_INSTANTIATE_ACCESS(T)                   \
  template T* Tensor::data_ptr<T>() const;               \
  template std::vector<T> Tensor::to_vector<T>() const;
TAPEFLOW_INSTANTIATE_ACCESS(bool)
TAPEFLOW_INSTANTIATE_ACCESS(uint8_t)
TAPEFLOW_INSTANTIATE_ACCESS(int32_t)
TAPEFLOW_INSTANTIATE_ACCESS(int64_t)
TAPEFLOW_INSTANTIATE_ACCESS(float)
TAPEFLOW_INSTANTIATE_ACCESS(double)
#undef TAPEFLOW_INSTANTIATE_ACCESS

Tensor Tensor::contiguous() const {
  check_defined("contiguous", *this);
  if (is_contiguous()) return *this;
  return clone();
}

}  // namespace tapeflow
