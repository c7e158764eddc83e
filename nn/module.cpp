// Module mechanics: registration, recursive named parameters, modes, state dicts, weight
// files, device/dtype moves and Keras-style building by a dummy forward.
#include "nn/module.h"

#include <map>
#include <mutex>

#include "autograd/grad_mode.h"
#include "data/safetensors.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

Module::Module(std::string type_name, std::string base_name)
    : type_name_(std::move(type_name)), base_name_(std::move(base_name)) {}

Module::~Module() = default;

namespace {
// Guards output_shape_ across modules: one model may serve several inference threads at once.
std::mutex& output_shape_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  Shape s = y.shape();
  if (s.size() > 0) s.erase(0);
  // Written only when it changes, under a lock: concurrent calls on a shared model (inference
  // threads) must not race on it (issue 17; ThreadSanitizer reported the plain write).
  std::lock_guard<std::mutex> lk(output_shape_mutex());
  if (!has_output_shape_ || output_shape_ != s) {
    output_shape_ = s;
    has_output_shape_ = true;
  }
  return y;
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  if (name.empty() || name.find('.') != std::string::npos)
    fail(type_name_, ".register_parameter: invalid name '", name, "' (non-empty, without '.')");
  if (!t.defined()) fail(type_name_, ".register_parameter: '", name, "' is an undefined tensor");
  for (const auto& [n, p] : params_)
    if (n == name) fail(type_name_, ".register_parameter: '", name, "' is already registered");
  for (const auto& [n, c] : children_)
    if (n == name) fail(type_name_, ".register_parameter: '", name, "' is already a child module");
  if (!t.is_leaf()) t = t.detach();
  if (requires_grad) {
    if (!is_floating(t.dtype()))
      fail(type_name_, ".register_parameter: '", name, "' must be floating point to require grad, got ", t.dtype());
    t.requires_grad_(true);
  }
  params_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  if (!m) fail(type_name_, ".register_module: '", name, "' is null");
  if (name.empty() || name.find('.') != std::string::npos)
    fail(type_name_, ".register_module: invalid name '", name, "' (non-empty, without '.')");
  for (const auto& [n, c] : children_)
    if (n == name) fail(type_name_, ".register_module: '", name, "' is already registered");
  for (const auto& [n, p] : params_)
    if (n == name) fail(type_name_, ".register_module: '", name, "' is already a parameter");
  children_.emplace_back(name, std::move(m));
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out = params_;
  if (!recurse) return out;
  for (const auto& [cname, child] : children_)
    for (auto& [pname, p] : child->named_parameters(true)) out.emplace_back(cname + "." + pname, p);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

int64_t Module::count_params() const {
  int64_t n = 0;
  for (auto& [name, p] : named_parameters()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& [n, p] : named_parameters()) p.zero_grad(set_to_none);
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  for (auto& [n, p] : named_parameters()) out.emplace_back(n, p.detach());
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors mine = named_parameters();
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) {
    if (!given.emplace(name, &t).second) fail("load_state_dict: parameter '", name, "' is given twice");
    if (!t.defined()) fail("load_state_dict: parameter '", name, "' is an undefined tensor");
  }
  // Every check runs before anything is copied, in the module's parameter order.
  std::vector<const Tensor*> source(mine.size(), nullptr);
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto& [name, p] = mine[i];
    auto it = given.find(name);
    if (it == given.end()) {
      if (strict) fail("load_state_dict: missing parameter '", name, "'");
      continue;
    }
    const Tensor& t = *it->second;
    if (t.shape() != p.shape())
      fail("load_state_dict: parameter '", name, "' has shape ", t.shape(), " in the source but ", p.shape(),
           " in the model");
    if (t.dtype() != p.dtype())
      fail("load_state_dict: parameter '", name, "' has dtype ", t.dtype(), " in the source but ", p.dtype(),
           " in the model");
    source[i] = &t;
  }
  if (strict) {
    std::map<std::string, bool> known;
    for (const auto& [name, p] : mine) known[name] = true;
    for (const auto& [name, t] : state)
      if (!known.count(name))
        fail("load_state_dict: unexpected parameter '", name, "' (the ", type_name_, " has ", mine.size(),
             " parameters", mine.empty() ? "; is it built?" : "", ")");
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < mine.size(); ++i)
    if (source[i] && !source[i]->is_same(mine[i].second)) mine[i].second.copy_(*source[i]);
}

void Module::save_weights(const std::string& path) const {
  if (!built()) fail("save_weights: the ", type_name_, " is not built yet (call build() or run a batch first)");
  data::save_safetensors(path, state_dict());
}

void Module::load_weights(const std::string& path) {
  if (!built())
    fail("load_weights: the ", type_name_, " is not built yet (call build() or run a batch first), so its "
         "parameters cannot be matched against '", path, "'");
  NamedTensors loaded = data::load_safetensors(path);
  try {
    load_state_dict(loaded, true);
  } catch (const Error& e) {
    fail("load_weights('", path, "'): ", e.what());
  }
}

void Module::move_param_in_place(Tensor& p, Device device, DType dtype) {
  if (p.device() == device && p.dtype() == dtype) return;
  NoGradGuard no_grad;
  Tensor g = p.grad();
  Tensor moved = p.detach().astype(dtype).to(device).contiguous();
  if (moved.shares_storage(p)) moved = moved.clone();
  // NOTE: the TensorImpl is updated rather than replaced so that every handle to this
  // parameter (the layer's member, an optimizer) sees the moved data.
  TensorImpl* im = p.impl();
  im->storage = moved.impl()->storage;
  im->strides = moved.strides();
  im->offset = moved.offset();
  im->dtype = moved.dtype();
  if (g.defined()) p.set_grad(g.detach().astype(dtype).to(device));
}

void Module::to(Device device) {
  device_ = device;
  for (auto& [n, p] : params_) move_param_in_place(p, device, p.dtype());
  for (auto& [n, c] : children_) c->to(device);
}

void Module::to(DType dtype) {
  if (!is_floating(dtype)) fail(type_name_, ".to: parameters must be floating point, got ", dtype);
  dtype_ = dtype;
  for (auto& [n, p] : params_) move_param_in_place(p, p.device(), dtype);
  for (auto& [n, c] : children_) c->to(dtype);
}

bool Module::built() const {
  for (auto& [n, c] : children_)
    if (!c->built()) return false;
  return true;
}

void Module::build(const Shape& input_shape) {
  Shape s = input_shape;
  s.insert(0, 1);
  bool was_training = training_;
  eval();
  try {
    NoGradGuard no_grad;
    (*this)(zeros(s, Options(dtype_, device_)));
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
  build_input_shape_ = input_shape;
  has_build_input_shape_ = true;
}

}  // namespace tapeflow::nn
