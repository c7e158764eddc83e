// Internal helpers shared by the op implementations (not part of the public API):
// making fresh tensors, turning tensors into backend views, argument checks.
#pragma once
#include <vector>

#include "backends/backend.h"
#include "tensor/tensor.h"

namespace tapeflow::detail {

// A fresh contiguous tensor (uninitialised memory). Errors (negative or overflowing shape, out
// of memory) name `op`.
Tensor make_tensor(const Shape& shape, DType dtype, Device device, const char* op = "empty");
// The element count of `shape`, checked: no negative dim, and the count, the contiguous strides
// and count * itemsize all fit in int64; otherwise Error naming `op`.
int64_t checked_numel(const char* op, const Shape& shape, size_t itemsize = 1);
// A host vector of n values for a factory; allocation failure is an Error naming `op` (never
// std::bad_alloc / std::length_error).
template <class T>
std::vector<T> host_vector(const char* op, int64_t n) {
  checked_numel(op, Shape{n}, sizeof(T));
  try {
    return std::vector<T>((size_t)n);
  } catch (const std::exception&) {
    fail(op, ": out of memory allocating ", n, " values");
  }
}
// A tensor sharing `base`'s storage with new geometry (a view).
Tensor make_view_of(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset);
Strides contiguous_strides(const Shape& shape);

backend::View view_of(const Tensor& t);
// View of t broadcast to `shape` (zero strides on broadcast dims); shapes already checked.
backend::View view_as(const Tensor& t, const Shape& shape);
inline backend::Backend& backend_of(const Tensor& t) { return backend::backend_for(t.device()); }

// Argument checks: throw tapeflow::Error naming the op.
void check_defined(const char* op, const Tensor& t);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
int normalize_dim(const char* op, int dim, int rank);  // negative dims allowed; IndexError
uint32_t axes_mask(const char* op, const Axes& axes, int rank);
uint32_t axes_mask(const char* op, const Axes& axes, const Tensor& x);  // also checks x is defined

// Dtype conversion without recording (the engine casts gradients back itself).
Tensor cast_raw(const Tensor& t, DType dtype);
// Result dtype of a binary op (PyTorch rules: dimensioned tensors > 0-d tensors > C++ numbers).
DType result_type(const Tensor& a, const Tensor& b);

}  // namespace tapeflow::detail
