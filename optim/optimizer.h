// optim::Optimizer: the base of every optimizer. It holds the parameter handles, their
// per-parameter state ("slots"), the learning rate and the Keras-style extras every optimizer
// shares (time-based decay, decoupled weight decay, gradient clipping, an LR schedule).
// step() updates the parameters in place under NoGradGuard, using public Tensor ops only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::optim {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
class LRSchedule;

// Options every optimizer accepts (Keras names). At most one of clipnorm, global_clipnorm and
// clipvalue may be set (0 = off).
struct CommonOptions {
  double decay = 0.0;          // lr_t = lr / (1 + decay * iterations)   (Keras 2 time-based)
  double weight_decay = 0.0;   // decoupled, as Keras: p -= p * weight_decay * lr_t, before the update
  double clipnorm = 0.0;       // clip each gradient to this L2 norm
  double global_clipnorm = 0.0;  // clip all gradients together to this global L2 norm
  double clipvalue = 0.0;      // clip each gradient element to [-clipvalue, clipvalue]
};

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr, CommonOptions common);
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string name() const = 0;                   // "SGD", "Adam", ...
  virtual std::vector<std::string> slot_names() const = 0;  // per-parameter state, e.g. {"m", "v"}

  // Parameters may be given later (a Keras model builds its weights on the first batch).
  void add_params(const std::vector<Tensor>& params);
  const std::vector<Tensor>& params() const { return params_; }

  // The base learning rate (what schedules and ReduceLROnPlateau change).
  double lr() const { return lr_; }
  void set_lr(double lr);
  // The rate the next step() will use: the schedule's value (or lr) at iterations(), divided by
  // (1 + decay * iterations()).
  double current_lr() const;
  void set_schedule(std::shared_ptr<LRSchedule> schedule) { schedule_ = std::move(schedule); }
  const std::shared_ptr<LRSchedule>& schedule() const { return schedule_; }
  int64_t iterations() const { return iterations_; }
  const CommonOptions& common() const { return common_; }
  void set_common(const CommonOptions& c);

  // One update of every parameter that has a gradient; parameters without one are skipped
  // (as PyTorch does). Increments iterations() once.
  void step();
  void zero_grad(bool set_to_none = true);
  // Fused updates (default on): contiguous float parameters take one in-place pass of the
  // backend per step (weight decay and the rule together, no temporaries). Off = the unfused
  // tensor formulas (same results to float rounding; kept for tests and debugging).
  void set_fused(bool on) { fused_ = on; }
  bool fused() const { return fused_; }

  // State: "iterations" (int64 0-d), "lr" (float64 0-d) and "<i>.<slot>" for parameter i.
  // load_state_dict checks every entry (name, index, shape, dtype) before changing anything.
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& state);

 protected:
  // Updates parameter `index` in place given its (already clipped) gradient and lr_t.
  virtual void update(size_t index, Tensor& param, const Tensor& grad, double lr_t) = 0;
  // The fused form of weight decay (wd = weight_decay * lr_t, 0 = none) followed by update();
  // returns false, having changed nothing, where it does not apply (the default).
  virtual bool fused_update(size_t index, Tensor& param, const Tensor& grad, double lr_t, double wd);
  // The slot `name` of parameter `index`, created as zeros_like(param) (times `init`) on first use.
  Tensor slot(size_t index, const std::string& name, double init = 0.0);  // a handle: in-place ops on it update the state
  // 1-based step number of the update in progress (iterations() + 1 inside update()).
  int64_t local_step() const { return iterations_ + 1; }

 private:
  std::vector<Tensor> params_;
  std::vector<NamedTensors> state_;  // per parameter: slot name -> tensor
  double lr_;
  CommonOptions common_;
  std::shared_ptr<LRSchedule> schedule_;
  int64_t iterations_ = 0;
  bool fused_ = true;
};

// Gradient clipping on .grad() in place (as torch.nn.utils). Both skip parameters without a
// gradient. clip_grad_norm_ returns the global norm before clipping.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

// The global L2 norm of a list of tensors (undefined entries are skipped).
double global_norm(const std::vector<Tensor>& tensors);

}  // namespace tapeflow::optim
