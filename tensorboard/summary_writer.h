// A TensorBoard summary writer: scalars, histograms, PNG images, text and hyperparameters
// written to one event file (events.out.tfevents.<time>.<host>.<pid>.<n>) in a run directory,
// in the TFRecord framing TensorBoard reads. Flushed when a write finds the last flush older
// than flush_secs, on flush(), and on close() / destruction (no background thread).
// NOTE: not thread-safe: use a writer from one thread (the training thread) only.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::tensorboard {

struct SummaryWriterOptions {
  double flush_secs = 2.0;        // a write flushes when the last flush is this old
  std::string filename_suffix;    // appended to the event file's name
};

// A hyperparameter value: a number, a string or a bool (the three kinds TensorBoard shows).
struct HParamValue {
  enum Kind { Number, String, Bool };
  HParamValue(double v) : kind(Number), number(v) {}
  HParamValue(int v) : kind(Number), number(v) {}
  HParamValue(int64_t v) : kind(Number), number(double(v)) {}
  HParamValue(bool v) : kind(Bool), boolean(v) {}
  HParamValue(const char* v) : kind(String), str(v) {}
  HParamValue(std::string v) : kind(String), str(std::move(v)) {}
  Kind kind;
  double number = 0;
  bool boolean = false;
  std::string str;
};
using HParams = std::vector<std::pair<std::string, HParamValue>>;
// A metric the HPARAMS tab shows next to the hyperparameters: a scalar tag, in the run
// directory `group` relative to the writer's (e.g. {"epoch_loss", "validation"}).
struct HParamMetric {
  std::string tag;
  std::string group;
};

class SummaryWriter {
 public:
  // Creates log_dir (and parents) and a new event file in it, whose first record is the
  // file_version event "brain.Event:2". Throws if another open writer of this process writes
  // to the same directory.
  explicit SummaryWriter(const std::string& log_dir, const SummaryWriterOptions& options = {});
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  // Summary.Value.simple_value (stored as float32, as TensorBoard's proto holds it).
  void add_scalar(const std::string& tag, double value, int64_t step);
  // A HistogramProto of every element (any real dtype and device): min, max, num, sum,
  // sum_squares and `bins` equal-width buckets from min to max (one bucket when all are equal).
  // Values must be finite and there must be at least one.
  void add_histogram(const std::string& tag, const Tensor& values, int64_t step, int bins = 30);
  // A PNG image (Summary.Image). uint8 values are used as they are; float32/float64 values are
  // taken in [0, 1], clamped, scaled by 255 and rounded. dataformats: "HWC" (C = 1 grey,
  // 3 RGB, 4 RGBA), "CHW" or "HW" (grey).
  void add_image(const std::string& tag, const Tensor& image, int64_t step,
                 const std::string& dataformats = "HWC");
  // The text plugin's summary: a string tensor (shown as Markdown by TensorBoard).
  void add_text(const std::string& tag, const std::string& text, int64_t step);
  // The hparams plugin's session_start_info (the values, shown in the HPARAMS tab), preceded
  // by an experiment listing them and `metrics` when metrics are given (otherwise TensorBoard
  // infers the columns). Write it once per run, in the run's top directory.
  void add_hparams(const HParams& hparams, const std::vector<HParamMetric>& metrics = {});

  void flush();
  void close();  // idempotent; writing after close() throws
  const std::string& log_dir() const { return log_dir_; }
  const std::string& file_path() const { return path_; }

 private:
  void write_event(const std::string& summary_value, int64_t step);
  void write_record(const std::string& event);
  void check_open(const char* what, const std::string& tag) const;
  std::string log_dir_, path_, key_;
  double flush_secs_;
  double last_flush_ = 0;
  std::FILE* file_ = nullptr;
};

// The PNG bytes of an image in the layout add_image() takes (libpng, 8 bits per channel).
std::string encode_png(const Tensor& image, const std::string& dataformats = "HWC");

}  // namespace tapeflow::tensorboard
