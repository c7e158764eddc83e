// Tensor factories: from C++ data, filled, ranges, identity. Random factories are in random.cpp.
#include "tensor/creation.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/internal.h"

namespace tapeflow {

using namespace detail;

static Tensor finish(Tensor t, const Options& o) {
  if (o.requires_grad) t.requires_grad_(true);
  return t;
}

Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t = make_tensor(shape, dtype, device, "from_blob");
  size_t n = shape.numel() * dtype_size(dtype);
  if (n) backend_of(t).copy_from_host(t.raw_data(), data, n);
  return t;
}

Tensor from_blob(void* data, const Shape& shape, DType dtype) {
  int64_t n = checked_numel("from_blob", shape, dtype_size(dtype));
  if (!data && n > 0) fail("from_blob: null pointer for shape ", shape);
  auto impl = make_intrusive<TensorImpl>();
  impl->storage = make_intrusive<Storage>(data, (size_t)n * dtype_size(dtype), Device::cpu());
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

template <ElementType T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  checked_numel("from_vector", shape, sizeof(T));
  if ((int64_t)values.size() != shape.numel())
    fail("from_vector: ", values.size(), " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  Tensor t = make_tensor(shape, dtype_v<T>, Device::cpu(), "from_vector");
  if constexpr (std::is_same_v<T, bool>) {
    std::copy(values.begin(), values.end(), static_cast<bool*>(t.raw_data()));
  } else if (!values.empty()) {
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return t;
}
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);

template <class T>
static Tensor from_lists(std::initializer_list<std::initializer_list<T>> rows, const Options& o, DType natural) {
  std::vector<double> flat;
  size_t cols = rows.size() ? rows.begin()->size() : 0;
  for (auto& r : rows) {
    if (r.size() != cols)
      fail("tensor: nested lists must be rectangular (a row has ", r.size(), " values, the first ", cols, ")");
    flat.insert(flat.end(), r.begin(), r.end());
  }
  Tensor t = from_vector(flat, Shape{(int64_t)rows.size(), (int64_t)cols});
  return finish(cast_raw(t, o.dtype_given ? o.dtype : natural).to(o.device), o);
}

Tensor tensor(std::initializer_list<float> values, Options o) {
  Tensor t = from_vector(std::vector<float>(values));
  return finish(cast_raw(t, o.dtype_given ? o.dtype : kFloat32).to(o.device), o);
}
Tensor detail::tensor_rows_float(std::initializer_list<std::initializer_list<float>> rows, Options o) {
  return from_lists(rows, o, kFloat32);
}
Tensor tensor(std::initializer_list<double> values, Options o) {
  Tensor t = from_vector(std::vector<double>(values));
  return finish(cast_raw(t, o.dtype_given ? o.dtype : kFloat64).to(o.device), o);
}
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Options o) {
  return from_lists(rows, o, kFloat64);
}

Tensor scalar_tensor(Scalar v, DType dtype, Device device) {
  Tensor t = make_tensor(Shape{}, dtype, device);
  backend_of(t).fill(view_of(t), v.to_double());
  if (dtype == kInt64 && v.kind != Scalar::Kind::Float) {
    // Exact for integers beyond 2^53.
    int64_t i = v.i;
    if (device.is_cpu()) std::memcpy(t.raw_data(), &i, sizeof i);
  }
  return t;
}

Tensor scalar_tensor(Scalar v, Options o) {
  DType natural = v.kind == Scalar::Kind::Bool ? kBool : (v.kind == Scalar::Kind::Int ? kInt64 : kFloat32);
  return finish(scalar_tensor(v, o.dtype_given ? o.dtype : natural, o.device), o);
}

Tensor empty(const Shape& shape, Options o) { return finish(make_tensor(shape, o.dtype, o.device, "empty"), o); }

static Tensor filled(const char* op, const Shape& shape, Scalar value, const Options& o) {
  Tensor t = make_tensor(shape, o.dtype, o.device, op);
  if (t.numel()) backend_of(t).fill(view_of(t), value.to_double());
  return finish(t, o);
}
Tensor full(const Shape& shape, Scalar value, Options o) { return filled("full", shape, value, o); }
Tensor zeros(const Shape& shape, Options o) { return filled("zeros", shape, 0, o); }
Tensor ones(const Shape& shape, Options o) { return filled("ones", shape, 1, o); }

static Options like(const Tensor& t) {
  check_defined("*_like", t);
  return Options(t.dtype(), t.device());
}
Tensor empty_like(const Tensor& t) { return empty(t.shape(), like(t)); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), like(t)); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), like(t)); }
Tensor full_like(const Tensor& t, Scalar v) { return full(t.shape(), v, like(t)); }

Tensor arange(Scalar stop, Options o) { return arange(0, stop, 1, o); }

Tensor arange(Scalar start, Scalar stop, Scalar step, Options o) {
  bool any_float = start.kind == Scalar::Kind::Float || stop.kind == Scalar::Kind::Float ||
                   step.kind == Scalar::Kind::Float;
  DType dt = o.dtype_given ? o.dtype : (any_float ? kFloat32 : kInt64);
  if (step.to_double() == 0) fail("arange: step must be nonzero");
  double span = (stop.to_double() - start.to_double()) / step.to_double();
  if (!std::isfinite(span)) fail("arange: non-finite range from ", start.to_double(), " to ", stop.to_double());
  if (span > 9.0e18) fail("arange: the range from ", start.to_double(), " to ", stop.to_double(),
                          " in steps of ", step.to_double(), " has too many elements");
  int64_t n = span > 0 ? (int64_t)std::ceil(span) : 0;
  if (!any_float) {  // exact count for integers (doubles lose it near the int64 limits)
    uint64_t dist = step.i > 0 ? (uint64_t)stop.i - (uint64_t)start.i : (uint64_t)start.i - (uint64_t)stop.i;
    uint64_t mag = step.i > 0 ? (uint64_t)step.i : 0 - (uint64_t)step.i;
    bool forward = step.i > 0 ? stop.i > start.i : stop.i < start.i;
    n = forward ? (int64_t)((dist - 1) / mag + 1) : 0;
  }
  // The values are written into a CPU tensor (tapeflow's allocator: a request too large is
  // tapeflow's out-of-memory error naming arange, never std::bad_alloc or a sanitizer abort).
  checked_numel("arange", Shape{n}, sizeof(int64_t));
  if (!any_float && !is_floating(dt)) {
    Tensor iv = make_tensor(Shape{n}, kInt64, Device::cpu(), "arange");
    int64_t* p = iv.data_ptr<int64_t>();
    // In uint64 so that a range near the int64 limits wraps instead of overflowing (UB).
    for (int64_t i = 0; i < n; ++i) p[i] = (int64_t)((uint64_t)start.i + (uint64_t)i * (uint64_t)step.i);
    return finish(cast_raw(iv, dt).to(o.device), o);
  }
  Tensor v = make_tensor(Shape{n}, kFloat64, Device::cpu(), "arange");
  double* p = v.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) p[i] = start.to_double() + (double)i * step.to_double();
  return finish(cast_raw(v, dt).to(o.device), o);
}

Tensor linspace(double start, double stop, int64_t steps, Options o) {
  if (steps < 0) fail("linspace: number of steps must be non-negative, got ", steps);
  std::vector<double> v = host_vector<double>("linspace", steps);
  for (int64_t i = 0; i < steps; ++i)
    v[i] = steps == 1 ? start : start + (stop - start) * (double)i / (double)(steps - 1);
  if (steps > 1) v[steps - 1] = stop;
  return finish(cast_raw(from_vector(v), o.dtype).to(o.device), o);
}

Tensor eye(int64_t n, int64_t m, Options o) {
  if (m < 0) m = n;
  if (n < 0) fail("eye: n must be non-negative, got ", n);
  Tensor t = make_tensor(Shape{n, m}, o.dtype, o.device, "eye");
  if (t.numel()) {
    backend_of(t).fill(view_of(t), 0.0);
    // The diagonal as a strided view: element (i, i) is at i * (m + 1).
    Tensor diag = make_view_of(t, Shape{std::min(n, m)}, Strides{m + 1}, 0);
    backend_of(t).fill(view_of(diag), 1.0);
  }
  return finish(t, o);
}

}  // namespace tapeflow
