// nn::Module: the base of layers and models (PyTorch C++ frontend mechanics). A module owns
// named parameters (leaf tensors with requires_grad) and named child modules, in registration
// order; named_parameters() walks them recursively ("0.kernel", "fc1.bias"). state_dict,
// load_state_dict are loops over those names (weight files: training/weights.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  // type_name: what summary() shows in parentheses ("Dense"); base_name: the stem of the
  // automatic Keras-style name ("dense" -> "dense", "dense_1", ...).
  explicit Module(std::string type_name = "Module", std::string base_name = "module");
  virtual ~Module();

  // The layer's computation. Call the module (operator()) rather than forward() directly: it
  // also records the output shape that summary() shows.
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);

  // ---- parameters and children ----
  // Registers t (made a leaf that requires grad when requires_grad) under `name`; returns it.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  int64_t count_params() const;  // total elements of every parameter (recursive)

  // ---- modes ----
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad(bool set_to_none = true);

  // ---- state ----
  // Detached handles sharing storage with the parameters (clone them for a snapshot).
  NamedTensors state_dict() const;
  // Copies values in by name. Every name, shape and dtype is checked before anything is
  // copied; a mismatch (or, when strict, a missing or unexpected name) throws naming the
  // parameter, and the module is left unchanged.
  void load_state_dict(const NamedTensors& state, bool strict = true);

  // Moves / casts every parameter in place (handles held elsewhere, e.g. by an optimizer,
  // stay valid). Layers built later are created on this device and dtype.
  virtual void to(Device device);
  virtual void to(DType dtype);
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  // ---- building (Keras: weights are created on the first call) ----
  virtual bool built() const;  // true when this module and all children have their weights
  // Builds by running one zero sample of `input_shape` (without the batch dim) through the
  // module in eval mode, without recording.
  void build(const Shape& input_shape);
  // The shape last given to build() (without the batch dim); empty() until then.
  const Shape& build_input_shape() const { return build_input_shape_; }
  bool has_build_input_shape() const { return has_build_input_shape_; }

  // ---- names and display ----
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const std::string& type_name() const { return type_name_; }
  const std::string& base_name() const { return base_name_; }
  // The last output shape with the batch dim dropped; has_output_shape() is false before the
  // first call.
  const Shape& output_shape() const { return output_shape_; }
  bool has_output_shape() const { return has_output_shape_; }

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  // Replaces the handle-stable contents of a parameter (used by to()).
  static void move_param_in_place(Tensor& p, Device device, DType dtype);

 private:
  std::string type_name_, base_name_, name_;
  NamedTensors params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  Device device_ = Device::cpu();
  DType dtype_ = kFloat32;
  Shape output_shape_;
  bool has_output_shape_ = false;
  Shape build_input_shape_;
  bool has_build_input_shape_ = false;
};

}  // namespace tapeflow::nn
