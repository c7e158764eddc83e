// Module mechanics: construction and moves, forward / call with hooks, registration of
// parameters, buffers and children, modes, Keras-style building by a dummy forward and the
// output-shape record. State (state_dict, to(), clone) is in module_state.cpp.
#include "nn/module.h"

#include "nn/cloneable.h"

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

namespace {
// > 0 while this thread runs build(): calls record output shapes even without grad mode.
thread_local int t_building = 0;
struct BuildingScope {
  BuildingScope() { ++t_building; }
  ~BuildingScope() { --t_building; }
};
// The module whose Cloneable single-tensor forward is running on this thread.
thread_local const Module* t_forward_self = nullptr;
}  // namespace

namespace detail {
ForwardReentryGuard::ForwardReentryGuard(const Module* self) : prev_(t_forward_self) {
  if (self == t_forward_self)
    fail(self->type_name(), ": forward(const Tensor&) calls itself: its class has no forward of its own that takes one "
         "tensor (remove any `using Module::forward;`, or define forward(const Tensor&))");
  t_forward_self = self;
}
ForwardReentryGuard::~ForwardReentryGuard() { t_forward_self = prev_; }
}  // namespace detail

const Tensor& ModuleOutput::operator[](size_t i) const {
  if (i >= tensors_.size()) fail_index("ModuleOutput: index ", i, " out of range for ", tensors_.size(), " outputs");
  return tensors_[i];
}

const Tensor& ModuleOutput::tensor() const {
  if (tensors_.size() != 1)
    fail("ModuleOutput.tensor(): the module returned ", tensors_.size(), " outputs, not one (use [i] or tensors())");
  return tensors_[0];
}

Module::Module(std::string type_name, std::string base_name)
    : type_name_(std::move(type_name)), base_name_(std::move(base_name)) {}

Module::~Module() = default;

Module::Module(Module&& o) noexcept { *this = std::move(o); }

Module& Module::operator=(Module&& o) noexcept {
  if (this == &o) return *this;
  type_name_ = std::move(o.type_name_);
  base_name_ = std::move(o.base_name_);
  name_ = std::move(o.name_);
  params_ = std::move(o.params_);
  buffers_ = std::move(o.buffers_);
  children_ = std::move(o.children_);
  pre_hooks_ = std::move(o.pre_hooks_);
  post_hooks_ = std::move(o.post_hooks_);
  training_ = o.training_;
  device_ = o.device_;
  dtype_ = o.dtype_;
  {
    std::scoped_lock lk(shape_mu_, o.shape_mu_);
    output_shape_ = o.output_shape_;
    has_output_shape_ = o.has_output_shape_;
  }
  build_input_shape_ = o.build_input_shape_;
  has_build_input_shape_ = o.has_build_input_shape_;
  return *this;
}

Tensor Module::forward(const Tensor&) {
  fail(type_name_, ": forward(const Tensor&) is not defined: define it, or forward_any(inputs) for several inputs, "
       "or derive from nn::Cloneable<", type_name_, "> and define a typed forward(a, b, ...)");
}

ModuleOutput Module::forward_any(const std::vector<Tensor>& inputs) {
  if (inputs.size() != 1)
    fail(type_name_, ": forward takes one input tensor, got ", inputs.size(),
         " (a module with several inputs defines forward_any or derives from nn::Cloneable with a typed forward)");
  return ModuleOutput(forward(inputs[0]));
}

bool Module::has_forward_hooks() const {
  return (pre_hooks_ && !pre_hooks_->hooks.empty()) || (post_hooks_ && !post_hooks_->hooks.empty());
}

Tensor Module::operator()(const Tensor& x) {
  if (!x.defined()) fail(type_name_, ": got an undefined tensor");
  if (has_forward_hooks()) return call({x}).tensor();
  Tensor y = forward(x);
  record_output_shape(y);
  return y;
}

ModuleOutput Module::call(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> in = inputs;
  if (pre_hooks_ && !pre_hooks_->hooks.empty()) {
    auto hooks = pre_hooks_->hooks;  // a hook may remove itself
    for (auto& [id, fn] : hooks)
      if (auto r = fn(*this, in)) in = std::move(*r);
  }
  ModuleOutput out = forward_any(in);
  if (post_hooks_ && !post_hooks_->hooks.empty()) {
    auto hooks = post_hooks_->hooks;
    for (auto& [id, fn] : hooks)
      if (auto r = fn(*this, in, out)) out = std::move(*r);
  }
  if (out.size() > 0) record_output_shape(out.tensors()[0]);
  return out;
}

RemovableHandle Module::register_forward_pre_hook(ForwardPreHook fn) {
  if (!fn) fail(type_name_, ".register_forward_pre_hook: the hook is empty");
  return add_hook(pre_hooks_, std::move(fn));
}

RemovableHandle Module::register_forward_hook(ForwardHook fn) {
  if (!fn) fail(type_name_, ".register_forward_hook: the hook is empty");
  return add_hook(post_hooks_, std::move(fn));
}

void Module::record_output_shape(const Tensor& y) {
  if (!y.defined() || (!is_grad_enabled() && t_building == 0)) return;
  Shape s = y.shape();
  if (s.size() > 0) s.erase(0);
  std::lock_guard<std::mutex> lk(shape_mu_);
  if (has_output_shape_ && output_shape_ == s) return;
  output_shape_ = s;
  has_output_shape_ = true;
}

Shape Module::output_shape() const {
  std::lock_guard<std::mutex> lk(shape_mu_);
  return output_shape_;
}

bool Module::has_output_shape() const {
  std::lock_guard<std::mutex> lk(shape_mu_);
  return has_output_shape_;
}

static void check_new_name(const std::string& type, const char* what, const std::string& name,
                           const NamedTensors& params, const NamedTensors& buffers,
                           const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children) {
  if (name.empty() || name.find('.') != std::string::npos)
    fail(type, ".", what, ": invalid name '", name, "' (non-empty, without '.')");
  for (const auto& [n, p] : params)
    if (n == name) fail(type, ".", what, ": '", name, "' is already registered (a parameter)");
  for (const auto& [n, b] : buffers)
    if (n == name) fail(type, ".", what, ": '", name, "' is already registered (a buffer)");
  for (const auto& [n, c] : children)
    if (n == name) fail(type, ".", what, ": '", name, "' is already registered (a child module)");
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  if (!t.defined()) fail(type_name_, ".register_parameter: '", name, "' is an undefined tensor");
  check_new_name(type_name_, "register_parameter", name, params_, buffers_, children_);
  if (!t.is_leaf()) t = t.detach();
  if (requires_grad) {
    if (!is_floating(t.dtype()))
      fail(type_name_, ".register_parameter: '", name, "' must be floating point to require grad, got ", t.dtype());
    t.requires_grad_(true);
  }
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  if (!t.defined()) fail(type_name_, ".register_buffer: '", name, "' is an undefined tensor");
  check_new_name(type_name_, "register_buffer", name, params_, buffers_, children_);
  if (t.requires_grad()) t = t.detach();
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  if (!m) fail(type_name_, ".register_module: '", name, "' is null");
  if (m.get() == this) fail(type_name_, ".register_module: '", name, "' is the module itself");
  check_new_name(type_name_, "register_module", name, params_, buffers_, children_);
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
  if (recurse && !built())
    fail(type_name_, ".parameters(): the ", type_name_, " is not built yet, so some of its weights do not exist "
         "(an optimizer given them would train nothing): call build({input size}) first (e.g. model.build({784})), "
         "give the first layer its input size (Dense(8, DenseOptions().input_dim(784))), or let compile() and fit() "
         "build it");
  std::vector<Tensor> out;
  for (auto& [n, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out = buffers_;
  if (!recurse) return out;
  for (const auto& [cname, child] : children_)
    for (auto& [bname, b] : child->named_buffers(true)) out.emplace_back(cname + "." + bname, b);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, b] : named_buffers(recurse)) out.push_back(b);
  return out;
}

int64_t Module::count_params() const {
  int64_t n = 0;
  for (auto& [name, p] : named_parameters()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  if (training_ != on) training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& [n, p] : named_parameters()) p.zero_grad(set_to_none);
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
    BuildingScope building;
    call({zeros(s, Options(dtype_, device_))});  // the type-erased call: multi-output modules build too
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
  build_input_shape_ = input_shape;
  has_build_input_shape_ = true;
}

void Module::build_inputs(const std::vector<Shape>& input_shapes) {
  std::vector<Tensor> xs;
  for (Shape s : input_shapes) {
    s.insert(0, 1);
    xs.push_back(zeros(s, Options(dtype_, device_)));
  }
  bool was_training = training_;
  eval();
  try {
    NoGradGuard no_grad;
    BuildingScope building;
    call(xs);
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
}

}  // namespace tapeflow::nn
