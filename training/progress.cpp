// Progress bar drawing and the per-epoch progress callback (formats follow Keras 2's Progbar).
#include "training/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace tapeflow::training {

std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, std::abs(v) > 1e-3 ? "%.4f" : "%.4e", v);
  return buf;
}

std::string format_logs(const Logs& logs) {
  std::string s;
  for (auto& [k, v] : logs.items()) s += " - " + k + ": " + format_value(v);
  return s;
}

std::string format_eta(double eta) {
  char buf[64];
  long e = (long)eta;
  if (eta > 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", e / 3600, (e % 3600) / 60, e % 60);
  else if (eta > 60) std::snprintf(buf, sizeof buf, "%ld:%02ld", e / 60, e % 60);
  else std::snprintf(buf, sizeof buf, "%lds", e);
  return buf;
}

std::string format_per_step(double t) {
  char buf[64];
  if (t >= 1 || t == 0) std::snprintf(buf, sizeof buf, " %.0fs/step", t);
  else if (t >= 1e-3) std::snprintf(buf, sizeof buf, " %.0fms/step", t * 1e3);
  else std::snprintf(buf, sizeof buf, " %.0fus/step", t * 1e6);
  return buf;
}

bool is_terminal(const std::ostream& out) { return &out == &std::cout && isatty(STDOUT_FILENO); }

Progbar::Progbar(int64_t target, std::ostream& out, bool dynamic, int width)
    : target_(target), out_(&out), dynamic_(dynamic), width_(width),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double Progbar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progbar::update(int64_t current, const Logs& logs, bool final) {
  auto now = std::chrono::steady_clock::now();
  if (!final && drawn_ && std::chrono::duration<double>(now - last_draw_).count() < 0.05) return;
  if (!dynamic_ && !final) return;  // without a terminal only the final line is written
  last_draw_ = now;
  drawn_ = true;
  double spent = elapsed();
  int digits = target_ > 0 ? (int)std::log10((double)target_) + 1 : 1;
  char head[64];
  std::snprintf(head, sizeof head, "%*lld/%lld", digits, (long long)current, (long long)target_);
  std::string line = head;
  if (dynamic_) {
    line += " [";
    double prog = target_ > 0 ? (double)current / (double)target_ : 1.0;
    int filled = (int)(width_ * prog);
    if (filled > 0) {
      line += std::string(filled - 1, '=');
      line += current < target_ ? '>' : '=';
    }
    line += std::string(std::max(0, width_ - filled), '.');
    line += "]";
  }
  double per_step = current > 0 ? spent / (double)current : 0.0;
  if (final) {
    char t[32];
    std::snprintf(t, sizeof t, " - %.0fs", spent);
    line += t;
    if (dynamic_) line += format_per_step(per_step);
  } else {
    line += " - ETA: " + format_eta(per_step * (double)(target_ - current));
  }
  line += format_logs(logs);
  if (dynamic_) {
    size_t w = line.size();
    if (w < prev_width_) line += std::string(prev_width_ - w, ' ');
    prev_width_ = w;
    *out_ << '\r' << line;
  } else {
    *out_ << line;
  }
  if (final) *out_ << '\n';
  out_->flush();
}

ProgbarLogger::ProgbarLogger(std::ostream& out, bool dynamic) : out_(&out), dynamic_(dynamic) {}

void ProgbarLogger::on_epoch_begin(int epoch, const Logs&) {
  epoch_ = epoch;
  start_ = std::chrono::steady_clock::now();
  if (dynamic_) {
    *out_ << "Epoch " << epoch + 1 << "/" << params().epochs << "\n";
    bar_ = std::make_unique<Progbar>(params().steps, *out_, true);
  }
}

void ProgbarLogger::on_train_batch_end(int batch, const Logs& logs) {
  if (bar_ && batch + 1 < params().steps) bar_->update(batch + 1, logs);
}

void ProgbarLogger::on_epoch_end(int epoch, Logs& logs) {
  if (dynamic_ && bar_) {
    bar_->update(params().steps, logs, true);
    bar_.reset();
    return;
  }
  double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char t[32];
  std::snprintf(t, sizeof t, " - %.0fs", spent);
  *out_ << "Epoch " << epoch + 1 << "/" << params().epochs << t << format_logs(logs) << "\n";
  out_->flush();
}

}  // namespace tapeflow::training
