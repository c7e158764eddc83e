// Tensor: the one type users see. A cheap handle (shared ownership) to storage + shape +
// strides + offset + dtype + device, plus autograd metadata when it takes part in autograd.
// Copying a Tensor shares storage; clone() deep-copies. Ops are free functions declared in
// tensor/ops.h; the methods here are thin conveniences over them.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "base/device.h"
#include "base/dtype.h"
#include "base/error.h"
#include "base/hooks.h"
#include "tensor/intrusive.h"
#include "base/shape.h"
#include "tensor/storage.h"

namespace tapeflow {

class Tensor;
namespace autograd { struct Node; struct AutogradMeta; }
namespace detail {
// Throws Error("<fn>: got an undefined tensor"): every accessor of an undefined (default
// constructed) Tensor lands here instead of dereferencing null.
[[noreturn]] void undefined_tensor(const char* fn);
}

// A plain C++ number used as an operand (a + 2.0, 1 - x).
struct Scalar {
  enum class Kind : uint8_t { Bool, Int, Float } kind;
  double f;
  int64_t i;  // for a Float: truncated, NaN -> 0, saturated at the int64 limits (no UB)
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  Scalar(T v) {
    if constexpr (std::is_same_v<T, bool>) { kind = Kind::Bool; i = v; f = v; }
    else if constexpr (std::is_integral_v<T>) { kind = Kind::Int; i = (int64_t)v; f = (double)v; }
    else { kind = Kind::Float; f = (double)v; i = saturate(f); }
  }
  double to_double() const { return f; }

 private:
  static int64_t saturate(double v) {
    if (!(v == v)) return 0;
    if (v >= 9223372036854775808.0) return INT64_MAX;    // 2^63
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
  }
};

struct TensorImpl : RefCounted {
  IntrusivePtr<Storage> storage;
  Shape shape;
  Strides strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = kFloat32;
  bool wrapped_number = false;  // a 0-d tensor made from a C++ number (weaker in promotion)
  std::unique_ptr<autograd::AutogradMeta> autograd;
  TensorImpl();
  ~TensorImpl();
  TAPEFLOW_SMALL_ALLOC_OPERATORS
};

// Sentinel for "to the end" in slices.
constexpr int64_t kEnd = INT64_MAX;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(IntrusivePtr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ----
  bool defined() const { return impl_.get() != nullptr; }
  // The accessors below throw "<name>: got an undefined tensor" on an undefined tensor.
  const Shape& shape() const { return checked("shape")->shape; }
  const Strides& strides() const { return checked("strides")->strides; }
  int64_t offset() const { return checked("offset")->offset; }
  int dim() const { return checked("dim")->shape.size(); }
  int64_t size(int dim) const;  // negative dims allowed
  int64_t numel() const { return checked("numel")->shape.numel(); }
  DType dtype() const { return checked("dtype")->dtype; }
  Device device() const { return checked("device")->storage->device; }
  bool is_contiguous() const;
  TensorImpl* impl() const { return impl_.get(); }
  const IntrusivePtr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }
  bool shares_storage(const Tensor& o) const {
    return checked("shares_storage")->storage == o.checked("shares_storage")->storage;
  }

  Tensor contiguous() const;  // self if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy (recorded by autograd)

  // ---- access ----
  // Exactly one element, converted to T: any arithmetic type (item<size_t>() too).
  template <class T> T item() const {
    static_assert(std::is_arithmetic_v<T>, "Tensor::item<T>: T must be bool, an integer or a floating-point type");
    if constexpr (std::is_same_v<T, bool>) return item_as_bool();
    else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(item_as_double());
    else return static_cast<T>(item_as_int64());
  }
  bool item_as_bool() const;
  int64_t item_as_int64() const;
  double item_as_double() const;
  template <ElementType T> std::vector<T> to_vector() const;  // all elements in row-major order
  template <ElementType T> T* data_ptr() const;  // contiguous CPU tensors of dtype T only
  void* raw_data() const;                            // pointer to the first element (any device)
  Tensor astype(DType t) const;
  Tensor to(DType t) const { return astype(t); }
  Tensor to(Device d) const;
  Tensor cuda(int index = 0) const { return to(Device::cuda(index)); }
  Tensor cpu() const { return to(Device::cpu()); }

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& requires_grad(bool on) { return requires_grad_(on); }
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;  // undefined until a backward reaches this tensor
  void set_grad(const Tensor& g) const;
  // PyTorch's `x.data = src`: this tensor (every handle to it) now views src's data, with src's
  // shape, strides, dtype and device; it keeps its autograd identity (requires_grad, .grad(),
  // being a leaf). Not recorded. Throws if this requires grad and src is not floating.
  void set_data(const Tensor& src) const;
  void zero_grad(bool set_to_none = false) const;
  bool is_leaf() const;
  std::string grad_fn() const;  // "MulBackward", or "" for leaves
  std::shared_ptr<autograd::Node> grad_fn_node() const;
  void retain_grad() const;     // keep .grad() on a non-leaf
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  Tensor detach() const;  // shares storage, cut from the graph
  // Gradient hook (PyTorch's Tensor.register_hook): fn(grad) runs each time the gradient with
  // respect to this tensor is computed (leaves and non-leaves; in backward() and grad()), on
  // the gradient summed over every use. Returning a tensor replaces the gradient (same shape);
  // std::nullopt (or a void fn) keeps it. Hooks run in registration order.
  RemovableHandle register_hook(std::function<std::optional<Tensor>(const Tensor&)> fn) const;
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F&, const Tensor&>>, int> = 0>
  RemovableHandle register_hook(F fn) const {
    return register_hook(std::function<std::optional<Tensor>(const Tensor&)>(
        [fn = std::move(fn)](const Tensor& g) mutable -> std::optional<Tensor> {
          fn(g);
          return std::nullopt;
        }));
  }
  // Leaves only: fn(tensor) runs in backward() once this backward's gradient has been added
  // into tensor.grad() (PyTorch's post-accumulate-grad hook: overlap an all-reduce with backward).
  RemovableHandle register_post_accumulate_grad_hook(std::function<void(const Tensor&)> fn) const;
  uint32_t version() const { return checked("version")->storage->version; }

  // ---- views (share storage) ----
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const;
  Tensor flatten(int start_dim = 0, int end_dim = -1) const;
  Tensor squeeze() const;
  Tensor squeeze(int dim) const;
  Tensor unsqueeze(int dim) const;
  Tensor transpose(int d0, int d1) const;
  Tensor permute(const std::vector<int>& dims) const;
  Tensor T() const;  // reverses all dims
  Tensor slice(int dim, int64_t start, int64_t stop = kEnd, int64_t step = 1) const;
  Tensor select(int dim, int64_t index) const;  // drops the dim
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor narrow(int dim, int64_t start, int64_t length) const;
  Tensor expand(const Shape& s) const;
  Tensor broadcast_to(const Shape& s) const { return expand(s); }
  std::vector<Tensor> split(int64_t split_size, int dim = 0) const;
  std::vector<Tensor> chunk(int64_t chunks, int dim = 0) const;

  // ---- element-wise (see ops.h for the full list) ----
  Tensor neg() const; Tensor abs() const; Tensor exp() const; Tensor log() const;
  Tensor sqrt() const; Tensor square() const; Tensor tanh() const; Tensor sigmoid() const;
  Tensor relu() const; Tensor pow(const Tensor& e) const; Tensor pow(Scalar e) const;
  Tensor clamp(Scalar lo, Scalar hi) const;

  // ---- reductions ----
  Tensor sum(Axes axes = {}, bool keepdims = false) const;
  Tensor mean(Axes axes = {}, bool keepdims = false) const;
  Tensor prod(Axes axes = {}, bool keepdims = false) const;
  Tensor max(Axes axes = {}, bool keepdims = false) const;
  Tensor min(Axes axes = {}, bool keepdims = false) const;
  Tensor argmax(int axis, bool keepdims = false) const;
  Tensor argmin(int axis, bool keepdims = false) const;
  Tensor argmax() const;  // over the flattened tensor
  Tensor argmin() const;
  Tensor var(Axes axes = {}, int64_t correction = 1, bool keepdims = false) const;
  Tensor std(Axes axes = {}, int64_t correction = 1, bool keepdims = false) const;
  Tensor logsumexp(Axes axes = {}, bool keepdims = false) const;
  Tensor all(Axes axes = {}, bool keepdims = false) const;
  Tensor any(Axes axes = {}, bool keepdims = false) const;

  // ---- linear algebra ----
  Tensor matmul(const Tensor& o) const;

  // ---- in-place (bump the version counter) ----
  Tensor& add_(const Tensor& o);
  Tensor& sub_(const Tensor& o);
  Tensor& mul_(const Tensor& o);
  Tensor& div_(const Tensor& o);
  Tensor& add_(Scalar s) { return *this += s; }
  Tensor& sub_(Scalar s) { return *this -= s; }
  Tensor& mul_(Scalar s) { return *this *= s; }
  Tensor& div_(Scalar s) { return *this /= s; }
  Tensor& operator+=(const Tensor& o) { return add_(o); }
  Tensor& operator-=(const Tensor& o) { return sub_(o); }
  Tensor& operator*=(const Tensor& o) { return mul_(o); }
  Tensor& operator/=(const Tensor& o) { return div_(o); }
  Tensor& operator+=(Scalar s);
  Tensor& operator-=(Scalar s);
  Tensor& operator*=(Scalar s);
  Tensor& operator/=(Scalar s);
  Tensor& clamp_(Scalar lo, Scalar hi);
  Tensor& zero_();
  Tensor& fill_(Scalar v);
  Tensor& copy_(const Tensor& src);  // broadcasts src into self, casting dtype, any device

  // ---- printing ----
  std::string str() const;   // NumPy-style: [2.7 4.7 6.7]
  std::string repr() const;  // tensor([...], shape=(3,), dtype=float32, device=cpu)

 private:
  TensorImpl* checked(const char* fn) const {
    if (!impl_) detail::undefined_tensor(fn);
    return impl_.get();
  }
  IntrusivePtr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace tapeflow
