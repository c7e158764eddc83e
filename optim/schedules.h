// Learning-rate schedules. An LRSchedule maps a step count to a learning rate; attached to an
// optimizer (set_schedule) it is read at every iteration, as a Keras LearningRateSchedule; an
// epoch loop (or nn::LearningRateScheduler) may call it with the epoch number instead.
// ReduceLROnPlateau watches a metric and lowers the optimizer's lr when it stops improving.
#pragma once
#include <cstdint>
#include <string>

namespace tapeflow::optim {

class Optimizer;

class LRSchedule {
 public:
  virtual ~LRSchedule();
  virtual double operator()(int64_t step) const = 0;
};

// initial_lr * gamma ^ floor(step / step_size)  (PyTorch StepLR).
class StepDecay : public LRSchedule {
 public:
  StepDecay(double initial_lr, int64_t step_size, double gamma = 0.1);
  double operator()(int64_t step) const override;

 private:
  double initial_lr_;
  int64_t step_size_;
  double gamma_;
};

// initial_lr * decay_rate ^ (step / decay_steps), the exponent floored when staircase
// (Keras ExponentialDecay).
class ExponentialDecay : public LRSchedule {
 public:
  ExponentialDecay(double initial_lr, int64_t decay_steps, double decay_rate, bool staircase = false);
  double operator()(int64_t step) const override;

 private:
  double initial_lr_;
  int64_t decay_steps_;
  double decay_rate_;
  bool staircase_;
};

// initial_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)
// (Keras CosineDecay without warmup).
class CosineDecay : public LRSchedule {
 public:
  CosineDecay(double initial_lr, int64_t decay_steps, double alpha = 0.0);
  double operator()(int64_t step) const override;

 private:
  double initial_lr_;
  int64_t decay_steps_;
  double alpha_;
};

// Keras ReduceLROnPlateau, usable from any loop: call step(value) once per epoch. When the
// value has not improved by more than min_delta for `patience` calls, lr becomes
// max(lr * factor, min_lr), then `cooldown` calls pass before counting again.
// mode: "min", "max" ("auto" is resolved by the nn callback from the metric's name).
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, std::string mode = "min", double factor = 0.1,
                    int patience = 10, double min_delta = 1e-4, int cooldown = 0, double min_lr = 0.0);
  // Returns true when this call lowered the learning rate.
  bool step(double value);
  double best() const { return best_; }
  void reset();

 private:
  bool improved(double value) const;
  Optimizer* optimizer_;
  bool max_mode_;
  double factor_, min_delta_, min_lr_;
  int patience_, cooldown_;
  int wait_ = 0, cooldown_counter_ = 0;
  double best_;
};

}  // namespace tapeflow::optim
