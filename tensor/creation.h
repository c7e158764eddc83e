// Creating tensors: from C++ data, filled, ranges, identity, and seeded random streams.
// Random streams come from a counter-based (Philox) generator: element i of a draw depends
// only on (seed, counter, i), never on the thread count or the device.
#pragma once
#include <initializer_list>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow {

struct Options {
  DType dtype = kFloat32;
  Device device = Device::cpu();
  bool requires_grad = false;
  bool dtype_given = false;  // false: the factory picks (e.g. arange of ints gives int64)
  Options() = default;
  Options(DType t) : dtype(t), dtype_given(true) {}
  Options(Device d) : device(d) {}
  Options(const char* d) : device(d) {}
  Options(DType t, Device d, bool rg = false) : dtype(t), device(d), requires_grad(rg), dtype_given(true) {}
  Options& with_grad(bool rg = true) { requires_grad = rg; return *this; }
};

// From C++ literals: tensor({1, 2, 3}) and tensor({{1, 2}, {3, 4}}) give float32 unless opts
// names a dtype; tensor({...}, opts) with double literals and no dtype gives float64.
// NOTE: a single-column nested list ({{1.f}, {2.f}}) is ambiguous in C++: use reshape.
// The nested float form is a template only so that clang, which ranks the float and double
// nested lists alike, prefers the double form when opts is given (GCC picks by the literals):
// with clang, tensor({{1.f}}, opts) and no dtype in opts gives float64.
Tensor tensor(std::initializer_list<float> values, Options opts = {});
namespace detail {
Tensor tensor_rows_float(std::initializer_list<std::initializer_list<float>> rows, Options opts);
}
template <class = void>
Tensor tensor(std::initializer_list<std::initializer_list<float>> rows, Options opts = {}) {
  return detail::tensor_rows_float(rows, opts);
}
Tensor tensor(std::initializer_list<double> values, Options opts);
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Options opts);
template <ElementType T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
template <ElementType T>
Tensor from_vector(const std::vector<T>& values) { return from_vector(values, Shape{(int64_t)values.size()}); }
// Copies numel(shape) elements of type `dtype` from host memory.
Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());
// Wraps caller-owned host memory without a copy; the caller keeps it alive and contiguous.
Tensor from_blob(void* data, const Shape& shape, DType dtype);
Tensor scalar_tensor(Scalar v, Options opts = {});
Tensor scalar_tensor(Scalar v, DType dtype, Device device);

Tensor empty(const Shape& shape, Options opts = {});
Tensor zeros(const Shape& shape, Options opts = {});
Tensor ones(const Shape& shape, Options opts = {});
Tensor full(const Shape& shape, Scalar value, Options opts = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, Scalar value);

// [start, stop) in steps; integer arguments give int64 unless opts.dtype is floating.
Tensor arange(Scalar stop, Options opts = {});
Tensor arange(Scalar start, Scalar stop, Scalar step = 1, Options opts = {});
Tensor linspace(double start, double stop, int64_t steps, Options opts = {});
Tensor eye(int64_t n, int64_t m = -1, Options opts = {});

// Random: a process-wide generator per device, seeded by manual_seed (default seed 0).
void manual_seed(uint64_t seed);
Tensor uniform(const Shape& shape, double low = 0.0, double high = 1.0, Options opts = {});
Tensor normal(const Shape& shape, double mean = 0.0, double stddev = 1.0, Options opts = {});
Tensor bernoulli(const Shape& shape, double p, Options opts = {});
Tensor randint(int64_t low, int64_t high, const Shape& shape, Options opts = Options(kInt64));
Tensor randperm(int64_t n, Options opts = Options(kInt64));
// Shorthands as in PyTorch.
inline Tensor rand(const Shape& s, Options o = {}) { return uniform(s, 0.0, 1.0, o); }
inline Tensor randn(const Shape& s, Options o = {}) { return normal(s, 0.0, 1.0, o); }

}  // namespace tapeflow
