// nn::Module: the base of layers and models (PyTorch C++ frontend mechanics). A module owns
// named parameters (leaf tensors with requires_grad), named buffers (non-trainable state such
// as running statistics) and named child modules, in registration order; named_parameters()
// walks them recursively ("0.kernel", "fc1.bias"). state_dict / load_state_dict are loops over
// those names (weight files: training/weights.h). Forward signatures of any shape: see
// nn/cloneable.h (typed forward, clone()); the type-erased form is forward_any / call.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/hooks.h"
#include "tensor/tensor.h"

namespace tapeflow::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// What a module returns through the type-erased path: one tensor or several (a tuple of outputs).
class ModuleOutput {
 public:
  ModuleOutput() = default;
  ModuleOutput(Tensor t) : tensors_{std::move(t)} {}
  ModuleOutput(std::vector<Tensor> ts) : tensors_(std::move(ts)) {}
  size_t size() const { return tensors_.size(); }
  const Tensor& operator[](size_t i) const;
  const Tensor& tensor() const;  // the only output; throws when there are several
  const std::vector<Tensor>& tensors() const { return tensors_; }
  std::vector<Tensor>& tensors() { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
};

class Module;
// Forward hooks (PyTorch's register_forward_pre_hook / register_forward_hook). A pre-hook may
// return replacement inputs; a post-hook may return a replacement output.
using ForwardPreHook = std::function<std::optional<std::vector<Tensor>>(Module&, const std::vector<Tensor>& inputs)>;
using ForwardHook =
    std::function<std::optional<ModuleOutput>(Module&, const std::vector<Tensor>& inputs, const ModuleOutput& output)>;

class Module {
 public:
  // type_name: what summary() shows in parentheses ("Dense"); base_name: the stem of the
  // automatic Keras-style name ("dense" -> "dense", "dense_1", ...).
  explicit Module(std::string type_name = "Module", std::string base_name = "module");
  virtual ~Module();
  // Modules are not copyable: a copy would share its parameters and layers with the original.
  // Use clone() for a deep copy (nn/cloneable.h), or hold modules by std::shared_ptr.
  Module(const Module&) = delete;  // not copyable (a copy would share the layers): use clone()
  Module& operator=(const Module&) = delete;  // not copyable: use clone() or load_state_dict()
  Module(Module&& other) noexcept;  // moves the parameters, buffers, children and hooks
  Module& operator=(Module&& other) noexcept;

  // ---- forward ----
  // The single-input computation. Call the module (operator()) rather than forward() directly:
  // the call runs the forward hooks and records the output shape summary() shows.
  virtual Tensor forward(const Tensor& x);
  // Type-erased forward over any number of inputs (Sequential, summary, fit on several
  // inputs). The default accepts exactly one input and calls forward(x); nn::Cloneable<T>
  // routes it to T's typed forward(a, b, ...).
  virtual ModuleOutput forward_any(const std::vector<Tensor>& inputs);
  Tensor operator()(const Tensor& x);
  // forward_any with the hooks and the output-shape record.
  ModuleOutput call(const std::vector<Tensor>& inputs);

  // ---- parameters, buffers and children ----
  // Registers t (made a leaf that requires grad when requires_grad) under `name`; returns it.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  // Non-trainable state: saved and loaded with the parameters (state_dict, weight files), moved
  // by to(), copied by clone(), never given to optimizers. Update it in place (copy_, add_)
  // under NoGradGuard so the handle stays the registered one.
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  NamedTensors named_parameters(bool recurse = true) const;
  // The trainable tensors to give an optimizer. Throws when the module is not built yet (a
  // Dense without input size has no weights until its first call), naming the fix.
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  int64_t count_params() const;  // total elements of every parameter (recursive)

  // ---- hooks (each returns a handle: handle.remove()) ----
  // pre(module, inputs) runs before forward; hook(module, inputs, output) after it. Hooks run
  // in registration order on every call (operator(), call(), typed calls of nn::Cloneable).
  RemovableHandle register_forward_pre_hook(ForwardPreHook fn);
  RemovableHandle register_forward_hook(ForwardHook fn);
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F&, Module&, const std::vector<Tensor>&>>, int> = 0>
  RemovableHandle register_forward_pre_hook(F fn) {
    return register_forward_pre_hook(ForwardPreHook(
        [fn = std::move(fn)](Module& m, const std::vector<Tensor>& in) mutable -> std::optional<std::vector<Tensor>> {
          fn(m, in);
          return std::nullopt;
        }));
  }
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F&, Module&, const std::vector<Tensor>&,
                                                                          const ModuleOutput&>>, int> = 0>
  RemovableHandle register_forward_hook(F fn) {
    return register_forward_hook(ForwardHook([fn = std::move(fn)](Module& m, const std::vector<Tensor>& in,
                                                                  const ModuleOutput& out) mutable -> std::optional<ModuleOutput> {
      fn(m, in, out);
      return std::nullopt;
    }));
  }
  bool has_forward_hooks() const;

  // ---- modes ----
  virtual void train(bool on = true);  // writes only flags that change (shared eval models stay read-only)
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad(bool set_to_none = true);

  // ---- state ----
  // Detached handles sharing storage with the parameters and buffers, per module: its
  // parameters, its buffers, then its children (clone the tensors for a snapshot).
  NamedTensors state_dict() const;
  // Copies values in by name. Every name, shape and dtype is checked before anything is
  // copied; a mismatch (or, when strict, a missing or unexpected name) throws naming the
  // entry, and the module is left unchanged.
  void load_state_dict(const NamedTensors& state, bool strict = true);

  // A deep copy: parameters, buffers, training flag, device and dtype (no optimizer state, no
  // hooks). Built-in layers and nn::Cloneable<T> modules implement it; others throw.
  virtual std::shared_ptr<Module> clone() const;

  // Moves / casts every parameter and buffer in place (handles held elsewhere, e.g. by an
  // optimizer, stay valid; to(dtype) leaves integer buffers alone). Layers built later are
  // created on this device and dtype.
  virtual void to(Device device);
  virtual void to(DType dtype);
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  // ---- building (Keras: weights are created on the first call) ----
  virtual bool built() const;  // true when this module and all children have their weights
  // Builds by running one zero sample of `input_shape` (without the batch dim) through the
  // module in eval mode, without recording.
  void build(const Shape& input_shape);
  // Several inputs: one zero sample of each shape through call(): build_inputs({{28, 28}, {4}}).
  void build_inputs(const std::vector<Shape>& input_shapes);
  // The shape last given to build(const Shape&) (without the batch dim); empty() until then.
  const Shape& build_input_shape() const { return build_input_shape_; }
  bool has_build_input_shape() const { return has_build_input_shape_; }

  // ---- names and display ----
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const std::string& type_name() const { return type_name_; }
  const std::string& base_name() const { return base_name_; }
  // The output shape (first output, batch dim dropped) recorded by the last call made while
  // grad mode was on or by build(); has_output_shape() is false before. Calls under
  // NoGradGuard record nothing, so inference threads sharing a module never write to it.
  Shape output_shape() const;
  bool has_output_shape() const;

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  // Replaces the handle-stable contents of a parameter (used by to()).
  static void move_param_in_place(Tensor& p, Device device, DType dtype);
  void record_output_shape(const Tensor& y);
  // clone(): copies src's state into this freshly constructed module of the same structure,
  // recursively (children matched by name). prepare_clone_from lets a lazily built layer
  // create its weights first (Dense builds to src's input size).
  void copy_state_from(const Module& src);
  virtual void prepare_clone_from(const Module& src);

 private:
  NamedTensors named_state(bool with_buffers) const;
  std::string type_name_, base_name_, name_;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::shared_ptr<HookList<ForwardPreHook>> pre_hooks_;
  std::shared_ptr<HookList<ForwardHook>> post_hooks_;
  bool training_ = true;
  Device device_ = Device::cpu();
  DType dtype_ = kFloat32;
  mutable std::mutex shape_mu_;  // guards output_shape_ (written only when it changes)
  Shape output_shape_;
  bool has_output_shape_ = false;
  Shape build_input_shape_;
  bool has_build_input_shape_ = false;
};

// The deep copy of m as its own type: auto copy = nn::clone(model);
template <class M>
std::shared_ptr<M> clone(const M& m) {
  return std::dynamic_pointer_cast<M>(m.clone());
}

}  // namespace tapeflow::nn
