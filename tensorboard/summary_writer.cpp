// SummaryWriter: the event file, its records and the Event/Summary messages for scalars, text
// and hparams (field numbers in tensorboard/fields.h).
#include "tensorboard/summary_writer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "tensorboard/fields.h"
#include "tensorboard/record.h"

namespace tapeflow::tensorboard {
using namespace fields;

namespace {

double now_secs() {
  using namespace std::chrono;
  return double(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) * 1e-6;
}
double steady_secs() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Directories with an open writer in this process (one event file per run directory).
std::mutex g_writers_mutex;
std::set<std::string>& open_dirs() {
  static std::set<std::string> dirs;
  return dirs;
}
uint64_t g_writers_counter = 0;  // guarded by g_writers_mutex

std::string value_with_plugin(const std::string& tag, const std::string& plugin,
                              const std::string& content, const ProtoWriter& tensor) {
  ProtoWriter pd, meta, v;
  pd.bytes_field(kPluginName, plugin);
  if (!content.empty()) pd.bytes_field(kPluginContent, content);
  meta.message_field(kMetaPluginData, pd);
  v.bytes_field(kValueTag, tag);
  v.message_field(kValueTensor, tensor);
  v.message_field(kValueMetadata, meta);
  return v.bytes();
}

}  // namespace

SummaryWriter::SummaryWriter(const std::string& log_dir, const SummaryWriterOptions& options)
    : log_dir_(log_dir), flush_secs_(options.flush_secs) {
  const std::string who = "SummaryWriter(" + log_dir + "): ";
  if (log_dir.empty()) fail("SummaryWriter: log_dir is empty");
  if (!(options.flush_secs >= 0)) fail(who, "flush_secs must be >= 0, got ", options.flush_secs);
  if (options.filename_suffix.find('/') != std::string::npos)
    fail(who, "filename_suffix '", options.filename_suffix, "' must not contain '/'");
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec || !std::filesystem::is_directory(log_dir))
    fail(who, "cannot create the directory: ", ec ? ec.message() : "not a directory");
  key_ = std::filesystem::weakly_canonical(log_dir).string();
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(g_writers_mutex);
    if (!open_dirs().insert(key_).second)
      fail(who, "another SummaryWriter of this process is writing to this directory "
                "(one event file per run directory: close it first)");
    n = g_writers_counter++;
  }
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  double wall = now_secs();
  path_ = str_cat(log_dir, "/events.out.tfevents.", int64_t(wall), ".", host, ".", getpid(), ".", n,
                  options.filename_suffix);
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) {
    int err = errno;
    std::lock_guard<std::mutex> lock(g_writers_mutex);
    open_dirs().erase(key_);
    fail(who, "cannot open ", path_, " for writing: ", std::strerror(err));
  }
  ProtoWriter ev;
  ev.double_field(kEventWallTime, wall);
  ev.bytes_field(kEventFileVersion, "brain.Event:2");
  try {
    write_record(ev.bytes());
    flush();
  } catch (...) {  // no destructor runs for a throwing constructor: release the file and directory
    std::fclose(file_);
    file_ = nullptr;
    std::lock_guard<std::mutex> lock(g_writers_mutex);
    open_dirs().erase(key_);
    throw;
  }
}

SummaryWriter::~SummaryWriter() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() reports errors when called directly
  }
}

void SummaryWriter::close() {
  if (!file_) return;
  bool ok = std::fflush(file_) == 0;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_writers_mutex);
    open_dirs().erase(key_);
  }
  if (!ok) fail("SummaryWriter::close: writing ", path_, " failed: ", std::strerror(errno));
}

void SummaryWriter::flush() {
  if (!file_) return;
  if (std::fflush(file_) != 0) fail("SummaryWriter::flush: writing ", path_, " failed: ", std::strerror(errno));
  last_flush_ = steady_secs();
}

void SummaryWriter::check_open(const char* what, const std::string& tag) const {
  if (!file_) fail("SummaryWriter::", what, "('", tag, "'): the writer of ", log_dir_, " is closed");
  if (tag.empty()) fail("SummaryWriter::", what, ": the tag is empty");
}

void SummaryWriter::write_record(const std::string& event) {
  std::string rec = frame_record(event);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size())
    fail("SummaryWriter: writing ", path_, " failed: ", std::strerror(errno));
}

void SummaryWriter::write_event(const std::string& summary_value, int64_t step) {
  ProtoWriter summary, ev;
  summary.bytes_field(kSummaryValue, summary_value);
  ev.double_field(kEventWallTime, now_secs());
  ev.int64_field(kEventStep, step);
  ev.message_field(kEventSummary, summary);
  write_record(ev.bytes());
  if (steady_secs() - last_flush_ >= flush_secs_) flush();
}

void SummaryWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  check_open("add_scalar", tag);
  ProtoWriter v;
  v.bytes_field(kValueTag, tag);
  v.float_field(kValueSimple, float(value));
  write_event(v.bytes(), step);
}

void SummaryWriter::add_text(const std::string& tag, const std::string& text, int64_t step) {
  check_open("add_text", tag);
  ProtoWriter tensor, shape;  // a scalar (rank 0) DT_STRING tensor
  tensor.varint_field(kTensorDtype, kDtString);
  tensor.message_field(kTensorShape, shape);
  tensor.bytes_field(kTensorStringVal, text);
  // TextPluginData { version = 0 } serialises to no bytes.
  write_event(value_with_plugin(tag, "text", "", tensor), step);
}

void SummaryWriter::add_hparams(const HParams& hparams, const std::vector<HParamMetric>& metrics) {
  check_open("add_hparams", "_hparams_");
  if (hparams.empty()) fail("SummaryWriter::add_hparams: no hyperparameters given");
  std::set<std::string> names;
  for (auto& [name, v] : hparams) {
    if (name.empty()) fail("SummaryWriter::add_hparams: a hyperparameter name is empty");
    if (!names.insert(name).second) fail("SummaryWriter::add_hparams: duplicate hyperparameter '", name, "'");
  }
  // The hparams plugin's null tensor: DT_FLOAT of shape [0].
  ProtoWriter null_tensor, shape, dim;
  shape.message_field(kShapeDim, dim);
  null_tensor.varint_field(kTensorDtype, kDtFloat);
  null_tensor.message_field(kTensorShape, shape);
  double t = now_secs();
  if (!metrics.empty()) {
    ProtoWriter exp, data;
    exp.double_field(kExpTimeCreated, t);
    for (auto& [name, v] : hparams) {
      ProtoWriter info;
      info.bytes_field(kHpiName, name);
      info.varint_field(kHpiType, v.kind == HParamValue::String ? kHpTypeString
                                 : v.kind == HParamValue::Bool ? kHpTypeBool : kHpTypeFloat64);
      exp.message_field(kExpHParamInfos, info);
    }
    for (auto& m : metrics) {
      if (m.tag.empty()) fail("SummaryWriter::add_hparams: a metric tag is empty");
      ProtoWriter mn, mi;
      if (!m.group.empty()) mn.bytes_field(kMnGroup, m.group);
      mn.bytes_field(kMnTag, m.tag);
      mi.message_field(kMiName, mn);
      exp.message_field(kExpMetricInfos, mi);
    }
    data.message_field(kHpExperiment, exp);
    write_event(value_with_plugin("_hparams_/experiment", "hparams", data.bytes(), null_tensor), 0);
  }
  ProtoWriter ssi, data;
  for (auto& [name, v] : hparams) {
    ProtoWriter value, entry;
    if (v.kind == HParamValue::Number) value.double_field(kPbNumber, v.number);
    if (v.kind == HParamValue::String) value.bytes_field(kPbString, v.str);
    if (v.kind == HParamValue::Bool) value.varint_field(kPbBool, v.boolean ? 1 : 0);
    entry.bytes_field(kMapKey, name);
    entry.message_field(kMapValue, value);
    ssi.message_field(kSsiHParams, entry);
  }
  ssi.bytes_field(kSsiGroupName, log_dir_);
  ssi.double_field(kSsiStartTime, t);
  data.message_field(kHpSessionStart, ssi);
  write_event(value_with_plugin("_hparams_/session_start_info", "hparams", data.bytes(), null_tensor), 0);
}

}  // namespace tapeflow::tensorboard
