// Learning-rate schedules (step, exponential, cosine) and ReduceLROnPlateau.
#include "optim/schedules.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "optim/optimizer.h"
#include "base/error.h"

namespace tapeflow::optim {

LRSchedule::~LRSchedule() = default;

namespace {
void check_lr(const char* who, double lr) {
  if (!(lr >= 0)) fail(who, ": initial_lr must be non-negative, got ", lr);
}
void check_step(const char* who, int64_t step) {
  if (step < 0) fail(who, ": step must be non-negative, got ", step);
}
}  // namespace

StepDecay::StepDecay(double initial_lr, int64_t step_size, double gamma)
    : initial_lr_(initial_lr), step_size_(step_size), gamma_(gamma) {
  check_lr("StepDecay", initial_lr);
  if (step_size <= 0) fail("StepDecay: step_size must be positive, got ", step_size);
  if (!(gamma > 0)) fail("StepDecay: gamma must be positive, got ", gamma);
}

double StepDecay::operator()(int64_t step) const {
  check_step("StepDecay", step);
  return initial_lr_ * std::pow(gamma_, (double)(step / step_size_));
}

ExponentialDecay::ExponentialDecay(double initial_lr, int64_t decay_steps, double decay_rate, bool staircase)
    : initial_lr_(initial_lr), decay_steps_(decay_steps), decay_rate_(decay_rate), staircase_(staircase) {
  check_lr("ExponentialDecay", initial_lr);
  if (decay_steps <= 0) fail("ExponentialDecay: decay_steps must be positive, got ", decay_steps);
  if (!(decay_rate > 0)) fail("ExponentialDecay: decay_rate must be positive, got ", decay_rate);
}

double ExponentialDecay::operator()(int64_t step) const {
  check_step("ExponentialDecay", step);
  double p = (double)step / (double)decay_steps_;
  if (staircase_) p = std::floor(p);
  return initial_lr_ * std::pow(decay_rate_, p);
}

CosineDecay::CosineDecay(double initial_lr, int64_t decay_steps, double alpha)
    : initial_lr_(initial_lr), decay_steps_(decay_steps), alpha_(alpha) {
  check_lr("CosineDecay", initial_lr);
  if (decay_steps <= 0) fail("CosineDecay: decay_steps must be positive, got ", decay_steps);
  if (!(alpha >= 0 && alpha <= 1)) fail("CosineDecay: alpha must be in [0, 1], got ", alpha);
}

double CosineDecay::operator()(int64_t step) const {
  check_step("CosineDecay", step);
  double frac = (double)std::min(step, decay_steps_) / (double)decay_steps_;
  double cosine = 0.5 * (1.0 + std::cos(M_PI * frac));
  return initial_lr_ * ((1.0 - alpha_) * cosine + alpha_);
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, std::string mode, double factor, int patience,
                                     double min_delta, int cooldown, double min_lr)
    : optimizer_(&optimizer), factor_(factor), min_delta_(std::abs(min_delta)), min_lr_(min_lr),
      patience_(patience), cooldown_(cooldown) {
  if (mode != "min" && mode != "max")
    fail("ReduceLROnPlateau: mode must be 'min' or 'max', got '", mode, "'");
  if (!(factor > 0 && factor < 1)) fail("ReduceLROnPlateau: factor must be in (0, 1), got ", factor);
  if (patience < 0 || cooldown < 0) fail("ReduceLROnPlateau: patience and cooldown must be non-negative");
  if (!(min_lr >= 0)) fail("ReduceLROnPlateau: min_lr must be non-negative, got ", min_lr);
  max_mode_ = mode == "max";
  reset();
}

void ReduceLROnPlateau::reset() {
  wait_ = 0;
  cooldown_counter_ = 0;
  best_ = max_mode_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::improved(double v) const {
  return max_mode_ ? v > best_ + min_delta_ : v < best_ - min_delta_;
}

bool ReduceLROnPlateau::step(double value) {
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improved(value)) {
    best_ = value;
    wait_ = 0;
    return false;
  }
  if (cooldown_counter_ > 0) return false;
  if (++wait_ < patience_) return false;
  double old_lr = optimizer_->lr();
  if (old_lr <= min_lr_) return false;
  optimizer_->set_lr(std::max(old_lr * factor_, min_lr_));
  cooldown_counter_ = cooldown_;
  wait_ = 0;
  return true;
}

}  // namespace tapeflow::optim
