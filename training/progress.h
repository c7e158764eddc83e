// Keras-like progress output. Progbar draws "120/844 [===>.....] - ETA: 3s - loss: 0.5123"
// and redraws it in place on a terminal; ProgbarLogger is the callback fit() adds for verbose
// output: the bar on a terminal, or one line per epoch ("Epoch 3/50 - 1s - loss: 0.4123 - ...")
// when the stream is not a terminal (logs, pipes, tests).
#pragma once
#include "training/namespace.h"
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "training/callbacks.h"

namespace tapeflow::training {

// " - loss: 0.4123 - accuracy: 0.8534": %.4f, or %.4e for |v| <= 1e-3 (Keras).
std::string format_logs(const Logs& logs);
std::string format_value(double v);
// "2s", "1:05", "1:02:03" as Keras's ETA.
std::string format_eta(double seconds);
// " 2ms/step" as Keras: s, ms or us per step.
std::string format_per_step(double seconds_per_step);
// True when `out` is std::cout and stdout is a terminal.
bool is_terminal(const std::ostream& out);

class Progbar {
 public:
  Progbar(int64_t target, std::ostream& out, bool dynamic, int width = 30);
  // Draws progress at step `current` with these running values; `final` ends the line.
  void update(int64_t current, const Logs& logs, bool final = false);
  double elapsed() const;

 private:
  int64_t target_;
  std::ostream* out_;
  bool dynamic_;
  int width_;
  size_t prev_width_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

class ProgbarLogger : public Callback {
 public:
  ProgbarLogger(std::ostream& out, bool dynamic);
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::ostream* out_;
  bool dynamic_;
  int epoch_ = 0;
  std::unique_ptr<Progbar> bar_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tapeflow::training
