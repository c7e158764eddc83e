// The Optimizer base: parameter bookkeeping, the shared Keras-style step (clip, decay, weight
// decay, then the subclass's update), gradient clipping helpers and state save/load.
#include "optim/optimizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "autograd/grad_mode.h"
#include "optim/schedules.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::optim {

namespace {

void check_common(const std::string& who, const CommonOptions& c) {
  if (c.decay < 0) fail(who, ": decay must be non-negative, got ", c.decay);
  if (c.weight_decay < 0) fail(who, ": weight_decay must be non-negative, got ", c.weight_decay);
  if (c.clipnorm < 0 || c.global_clipnorm < 0 || c.clipvalue < 0)
    fail(who, ": clipnorm, global_clipnorm and clipvalue must be non-negative");
  int set = (c.clipnorm > 0) + (c.global_clipnorm > 0) + (c.clipvalue > 0);
  if (set > 1) fail(who, ": only one of clipnorm, global_clipnorm and clipvalue may be set");
}

void check_param(const Tensor& p, size_t i) {
  if (!p.defined()) fail("Optimizer: parameter ", i, " is an undefined tensor");
  if (!is_floating(p.dtype()))
    fail("Optimizer: parameter ", i, " must be floating point, got ", p.dtype());
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, double lr, CommonOptions common)
    : lr_(lr), common_(common) {
  if (!(lr >= 0)) fail("Optimizer: learning rate must be non-negative, got ", lr);
  check_common("Optimizer", common);
  add_params(params);
}

Optimizer::~Optimizer() = default;

void Optimizer::add_params(const std::vector<Tensor>& params) {
  for (const Tensor& p : params) {
    check_param(p, params_.size());
    for (const Tensor& q : params_)
      if (q.is_same(p)) fail("Optimizer: a parameter was given twice");
    params_.push_back(p);
    state_.emplace_back();
  }
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0)) fail(name(), ": learning rate must be non-negative, got ", lr);
  lr_ = lr;
}

void Optimizer::set_common(const CommonOptions& c) {
  check_common(name(), c);
  common_ = c;
}

double Optimizer::current_lr() const {
  double lr = schedule_ ? (*schedule_)(iterations_) : lr_;
  if (common_.decay > 0) lr /= 1.0 + common_.decay * (double)iterations_;
  return lr;
}

Tensor Optimizer::slot(size_t index, const std::string& name, double init) {
  for (auto& [n, t] : state_[index])
    if (n == name) return t;
  Tensor t = zeros_like(params_[index].detach());
  if (init != 0.0) t.fill_(init);
  state_[index].emplace_back(name, t);
  return state_[index].back().second;
}

void Optimizer::step() {
  if (params_.empty())
    fail(name(), ".step(): the optimizer has no parameters, so this step would train nothing (was it created "
         "from a model that was not built yet? build the model first, e.g. model.build({784}), or give "
         "add_params() the parameters)");
  NoGradGuard no_grad;
  std::vector<Tensor> grads(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    if (g.device() != params_[i].device() || g.shape() != params_[i].shape())
      fail(name(), ": gradient of parameter ", i, " has shape ", g.shape(), " on ", g.device(),
           " but the parameter has shape ", params_[i].shape(), " on ", params_[i].device());
    grads[i] = g;
  }
  // Clipping works on copies: .grad() itself is left as backward produced it (as Keras).
  if (common_.clipnorm > 0) {
    for (Tensor& g : grads) {
      if (!g.defined()) continue;
      double n = global_norm({g});
      if (n > common_.clipnorm) g = g * (common_.clipnorm / n);
    }
  } else if (common_.global_clipnorm > 0) {
    double n = global_norm(grads);
    if (n > common_.global_clipnorm)
      for (Tensor& g : grads)
        if (g.defined()) g = g * (common_.global_clipnorm / n);
  } else if (common_.clipvalue > 0) {
    for (Tensor& g : grads)
      if (g.defined()) g = clamp(g, -common_.clipvalue, common_.clipvalue);
  }
  double lr_t = current_lr();
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grads[i].defined()) continue;
    double wd = common_.weight_decay > 0 ? common_.weight_decay * lr_t : 0.0;
    if (fused_ && fused_update(i, params_[i], grads[i], lr_t, wd)) continue;
    if (wd > 0) params_[i].sub_(params_[i] * wd);
    update(i, params_[i], grads[i], lr_t);
  }
  ++iterations_;
}

bool Optimizer::fused_update(size_t, Tensor&, const Tensor&, double, double) { return false; }

void Optimizer::zero_grad(bool set_to_none) {
  for (const Tensor& p : params_) p.zero_grad(set_to_none);
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  out.emplace_back("iterations", scalar_tensor(iterations_, Options(kInt64)));
  out.emplace_back("lr", scalar_tensor(lr_, Options(kFloat64)));
  for (size_t i = 0; i < state_.size(); ++i)
    for (const auto& [n, t] : state_[i]) out.emplace_back(str_cat(i, ".", n), t.detach().clone());
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  // Validate everything first: a failed load leaves the optimizer unchanged.
  std::vector<std::string> slots = slot_names();
  std::set<std::string> seen;
  bool has_iter = false, has_lr = false;
  for (const auto& [key, t] : state) {
    if (!seen.insert(key).second) fail(name(), ".load_state_dict: entry '", key, "' appears twice");
    if (!t.defined()) fail(name(), ".load_state_dict: entry '", key, "' is undefined");
    if (key == "iterations" || key == "lr") {
      if (t.numel() != 1) fail(name(), ".load_state_dict: '", key, "' must hold one value, got shape ", t.shape());
      (key == "iterations" ? has_iter : has_lr) = true;
      continue;
    }
    size_t dot = key.find('.');
    size_t idx = 0;
    bool ok = dot != std::string::npos && dot > 0;
    for (size_t c = 0; ok && c < dot; ++c) ok = std::isdigit((unsigned char)key[c]) != 0;
    if (ok) idx = std::stoul(key.substr(0, dot));
    std::string slot_name = ok ? key.substr(dot + 1) : "";
    if (!ok || std::find(slots.begin(), slots.end(), slot_name) == slots.end())
    {
      std::string valid;
      for (const std::string& s : slots) valid += (valid.empty() ? "" : ", ") + s;
      fail(name(), ".load_state_dict: unexpected entry '", key, "' (expected 'iterations', 'lr' or "
           "'<param index>.<slot>' with slot one of: ", valid, ")");
    }
    if (idx >= params_.size())
      fail(name(), ".load_state_dict: entry '", key, "' refers to parameter ", idx, " but the optimizer has ",
           params_.size(), " parameters");
    if (t.shape() != params_[idx].shape())
      fail(name(), ".load_state_dict: entry '", key, "' has shape ", t.shape(), " but parameter ", idx,
           " has shape ", params_[idx].shape());
    if (t.dtype() != params_[idx].dtype())
      fail(name(), ".load_state_dict: entry '", key, "' has dtype ", t.dtype(), " but parameter ", idx,
           " has dtype ", params_[idx].dtype());
  }
  if (!has_iter || !has_lr) fail(name(), ".load_state_dict: missing '", has_iter ? "lr" : "iterations", "'");
  std::vector<NamedTensors> fresh(params_.size());
  for (const auto& [key, t] : state) {
    if (key == "iterations") { iterations_ = t.item<int64_t>(); continue; }
    if (key == "lr") { lr_ = t.item<double>(); continue; }
    size_t dot = key.find('.');
    size_t idx = std::stoul(key.substr(0, dot));
    fresh[idx].emplace_back(key.substr(dot + 1), t.detach().to(params_[idx].device()).clone());
  }
  state_ = std::move(fresh);
}

double global_norm(const std::vector<Tensor>& tensors) {
  NoGradGuard no_grad;
  double total = 0.0;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    total += sum(square(t.astype(kFloat64))).item<double>();
  }
  return std::sqrt(total);
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  if (!(max_norm > 0)) fail("clip_grad_norm_: max_norm must be positive, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) grads.push_back(p.grad());
  double n = global_norm(grads);
  if (n > max_norm)
    for (Tensor& g : grads)
      if (g.defined()) g *= max_norm / n;
  return n;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  if (!(clip_value > 0)) fail("clip_grad_value_: clip_value must be positive, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace tapeflow::optim
