// Module state: state_dict / load_state_dict over parameters and buffers, device and dtype
// moves, and the recursive state copy behind clone().
#include <map>

#include "autograd/grad_mode.h"
#include "nn/module.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

NamedTensors Module::named_state(bool with_buffers) const {
  NamedTensors out = params_;
  if (with_buffers) out.insert(out.end(), buffers_.begin(), buffers_.end());
  for (const auto& [cname, child] : children_)
    for (auto& [n, t] : child->named_state(with_buffers)) out.emplace_back(cname + "." + n, t);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  for (auto& [n, t] : named_state(true)) out.emplace_back(n, t.detach());
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors mine = named_state(true);
  std::map<std::string, bool> is_buffer;
  for (auto& [n, b] : named_buffers()) is_buffer[n] = true;
  auto kind = [&](const std::string& n) { return is_buffer.count(n) ? "buffer" : "parameter"; };
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) {
    if (!given.emplace(name, &t).second) fail("load_state_dict: parameter '", name, "' is given twice");
    if (!t.defined()) fail("load_state_dict: parameter '", name, "' is an undefined tensor");
  }
  // Every check runs before anything is copied, in the module's order.
  std::vector<const Tensor*> source(mine.size(), nullptr);
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto& [name, p] = mine[i];
    auto it = given.find(name);
    if (it == given.end()) {
      if (strict) fail("load_state_dict: missing ", kind(name), " '", name, "'");
      continue;
    }
    const Tensor& t = *it->second;
    if (t.shape() != p.shape())
      fail("load_state_dict: ", kind(name), " '", name, "' has shape ", t.shape(), " in the source but ", p.shape(),
           " in the model");
    if (t.dtype() != p.dtype())
      fail("load_state_dict: ", kind(name), " '", name, "' has dtype ", t.dtype(), " in the source but ", p.dtype(),
           " in the model");
    source[i] = &t;
  }
  if (strict) {
    std::map<std::string, bool> known;
    for (const auto& [name, p] : mine) known[name] = true;
    for (const auto& [name, t] : state)
      if (!known.count(name))
        fail("load_state_dict: unexpected parameter '", name, "' (the ", type_name_, " has ", mine.size(),
             " parameters and buffers", mine.empty() ? "; is it built?" : "", ")");
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < mine.size(); ++i)
    if (source[i] && !source[i]->is_same(mine[i].second)) mine[i].second.copy_(*source[i]);
}

void Module::move_param_in_place(Tensor& p, Device device, DType dtype) {
  if (p.device() == device && p.dtype() == dtype) return;
  NoGradGuard no_grad;
  Tensor g = p.grad();
  Tensor moved = p.detach().astype(dtype).to(device).contiguous();
  if (moved.shares_storage(p)) moved = moved.clone();
  // NOTE: the data is replaced in place (set_data) so that every handle to this parameter
  // (the layer's member, an optimizer) sees the moved data.
  p.set_data(moved);
  if (g.defined()) p.set_grad(g.detach().astype(dtype).to(device));
}

void Module::to(Device device) {
  device_ = device;
  for (auto& [n, p] : params_) move_param_in_place(p, device, p.dtype());
  for (auto& [n, b] : buffers_) move_param_in_place(b, device, b.dtype());
  for (auto& [n, c] : children_) c->to(device);
}

void Module::to(DType dtype) {
  if (!is_floating(dtype)) fail(type_name_, ".to: parameters must be floating point, got ", dtype);
  dtype_ = dtype;
  for (auto& [n, p] : params_) move_param_in_place(p, p.device(), dtype);
  for (auto& [n, b] : buffers_)
    if (is_floating(b.dtype())) move_param_in_place(b, b.device(), dtype);
  for (auto& [n, c] : children_) c->to(dtype);
}

std::shared_ptr<Module> Module::clone() const {
  fail(type_name_, ".clone(): this module does not implement clone(); derive it from nn::Cloneable<", type_name_,
       ", Base> (nn/cloneable.h) and build its children and parameters in its constructor");
}

void Module::prepare_clone_from(const Module&) {}

namespace {
std::string names_of(const NamedTensors& v) {
  std::string s;
  for (auto& [n, t] : v) s += (s.empty() ? "" : ", ") + n;
  return "[" + s + "]";
}
}  // namespace

void Module::copy_state_from(const Module& src) {
  if (dtype_ != src.dtype_) to(src.dtype_);
  if (device_ != src.device_) to(src.device_);
  prepare_clone_from(src);
  name_ = src.name_;
  training_ = src.training_;
  build_input_shape_ = src.build_input_shape_;
  has_build_input_shape_ = src.has_build_input_shape_;
  {
    std::scoped_lock lk(shape_mu_, src.shape_mu_);
    output_shape_ = src.output_shape_;
    has_output_shape_ = src.has_output_shape_;
  }
  std::string cn, sn;
  for (auto& [n, c] : children_) cn += (cn.empty() ? "" : ", ") + n;
  for (auto& [n, c] : src.children_) sn += (sn.empty() ? "" : ", ") + n;
  if (cn != sn)
    fail(type_name_, ".clone(): the new module has children [", cn, "] but the original has [", sn,
         "] (a cloneable module must create its children in its constructor)");
  for (size_t i = 0; i < children_.size(); ++i) children_[i].second->copy_state_from(*src.children_[i].second);
  auto copy_list = [&](NamedTensors& dst, const NamedTensors& from, const char* what) {
    if (names_of(dst) != names_of(from))
      fail(type_name_, ".clone(): the new module has ", what, " ", names_of(dst), " but the original has ",
           names_of(from));
    NoGradGuard no_grad;
    for (size_t i = 0; i < dst.size(); ++i) {
      Tensor& d = dst[i].second;
      const Tensor& s = from[i].second;
      if (d.shape() != s.shape() || d.dtype() != s.dtype())
        fail(type_name_, ".clone(): ", what, " '", dst[i].first, "' is ", d.shape(), " ", d.dtype(),
             " in the new module but ", s.shape(), " ", s.dtype(),
             " in the original (fresh() must construct the module with the same arguments)");
      if (d.device() != s.device()) move_param_in_place(d, s.device(), s.dtype());
      d.copy_(s);
      if (d.is_leaf() && is_floating(d.dtype())) d.requires_grad_(s.requires_grad());
    }
  };
  copy_list(params_, src.params_, "parameters");
  copy_list(buffers_, src.buffers_, "buffers");
}

}  // namespace tapeflow::nn
