// Grad mode: a per-thread switch. While off, no op is recorded on the tape.
#pragma once

namespace tapeflow {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

// Scope guard: no recording inside (as torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};
using no_grad = NoGradGuard;

// Scope guard that sets grad mode to `enabled` (as torch.set_grad_enabled).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : prev_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

// Anomaly mode: backward checks every gradient for NaN/Inf and names the forward op that
// produced it, with the stack where that op was recorded.
void set_detect_anomaly(bool on);
bool is_anomaly_enabled();

}  // namespace tapeflow
