// Tests for tensorboard/: CRC-32C and TFRecord framing and the protobuf encoding against bytes
// made by TensorBoard's own Python code (pasted below), the event file's records read back with
// their checksums, PNG headers, and every bad input by its message. The full proof (TensorBoard
// itself reading a run) is tests/tensorboard/check.sh.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/nn.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensorboard/record.h"
#include "tensorboard/summary_writer.h"

using namespace tapeflow;
namespace tb = tapeflow::tensorboard;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("tapeflow_tb_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { std::error_code ec; fs::remove_all(path, ec); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) { h += d[c >> 4]; h += d[c & 15]; }
  return h;
}

// Splits an event file into its records, checking both masked CRCs of each.
std::vector<std::string> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    REQUIRE(s.size() - pos >= 12);
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, s.data() + pos, 8);
    std::memcpy(&len_crc, s.data() + pos + 8, 4);
    REQUIRE(len_crc == tb::masked_crc32c(s.data() + pos, 8));
    REQUIRE(s.size() - pos - 12 >= len + 4);
    std::string data = s.substr(pos + 12, len);
    std::memcpy(&data_crc, s.data() + pos + 12 + len, 4);
    REQUIRE(data_crc == tb::masked_crc32c(data.data(), data.size()));
    out.push_back(data);
    pos += 16 + len;
  }
  return out;
}

}  // namespace

TEST_CASE("tensorboard: CRC-32C and record framing match TensorBoard's", "[tensorboard]") {
  CHECK(tb::crc32c("123456789", 9) == 0xE3069283u);  // the standard check value
  CHECK(tb::crc32c("", 0) == 0u);
  // From tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c and its framing.
  CHECK(tb::masked_crc32c("hello", 5) == 0x191c1fbbu);
  CHECK(hex(tb::frame_record("hello")) == "0500000000000000eab2043e68656c6c6fbb1f1c19");
}

TEST_CASE("tensorboard: protobuf encoding matches TensorBoard's event_pb2", "[tensorboard]") {
  // event_pb2.Event(wall_time=1.5, step=7) + summary.value.add(tag="loss", simple_value=0.25)
  tb::ProtoWriter value, summary, ev;
  value.bytes_field(1, "loss");
  value.float_field(2, 0.25f);
  summary.message_field(1, value);
  ev.double_field(1, 1.5);
  ev.int64_field(2, 7);
  ev.message_field(5, summary);
  CHECK(hex(ev.bytes()) == "09000000000000f83f10072a0d0a0b0a046c6f7373150000803e");
  // A negative step is a 10-byte varint: Event(wall_time=2.0, step=-3)
  tb::ProtoWriter neg;
  neg.double_field(1, 2.0);
  neg.int64_field(2, -3);
  CHECK(hex(neg.bytes()) == "09000000000000004010fdffffffffffffffff01");
  // HistogramProto(min=-1, max=2, num=3, sum=1, sum_squares=5, bucket_limit=[0.5, 2], bucket=[1, 2])
  tb::ProtoWriter h;
  h.double_field(1, -1);
  h.double_field(2, 2);
  h.double_field(3, 3);
  h.double_field(4, 1);
  h.double_field(5, 5);
  h.packed_doubles(6, {0.5, 2});
  h.packed_doubles(7, {1, 2});
  CHECK(hex(h.bytes()) ==
        "09000000000000f0bf11000000000000004019000000000000084021000000000000f03f29000000000000144032"
        "10000000000000e03f00000000000000403a10000000000000f03f0000000000000040");
}

TEST_CASE("tensorboard: the event file's records and name", "[tensorboard]") {
  TempDir dir;
  std::string path;
  {
    tb::SummaryWriter w(dir / "run");
    path = w.file_path();
    CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
    CHECK(fs::path(path).parent_path() == fs::path(dir / "run"));
    w.add_scalar("loss", 0.25, 7);
    w.add_text("note", "hello", 1);
    w.add_histogram("w", arange(10, kFloat32), 2, 5);
    w.add_image("img", zeros({2, 3, 3}, Options(kUInt8)), 3);
    w.add_hparams({{"lr", 0.01}, {"opt", "sgd"}, {"nesterov", true}}, {{"epoch_loss", "train"}});
  }  // the destructor closes and flushes
  std::vector<std::string> recs = read_records(path);
  REQUIRE(recs.size() == 7);  // file_version, scalar, text, histogram, image, experiment, session
  CHECK(recs[0].find("brain.Event:2") != std::string::npos);
  // The scalar event: wall_time (9 bytes), then step 7 and the summary exactly as Python's.
  CHECK(hex(recs[1].substr(9)) == "10072a0d0a0b0a046c6f7373150000803e");
  CHECK(recs[4].find("\x89PNG\r\n\x1a\n") != std::string::npos);
  CHECK(recs[6].find("_hparams_/session_start_info") != std::string::npos);
}

TEST_CASE("tensorboard: PNG encoding through libpng", "[tensorboard]") {
  Tensor img = full({5, 7, 3}, 0.5, Options(kFloat32));
  std::string png = tb::encode_png(img);
  REQUIRE(png.size() > 33);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(png.substr(12, 4) == "IHDR");
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  CHECK(be32(16) == 7);  // width
  CHECK(be32(20) == 5);  // height
  CHECK(int(png[24]) == 8);  // bit depth
  CHECK(int(png[25]) == 2);  // RGB
  CHECK(int(tb::encode_png(zeros({4, 3}, Options(kUInt8)), "HW")[25]) == 0);   // grey
  CHECK(int(tb::encode_png(zeros({4, 2, 3}), "CHW")[25]) == 6);                   // RGBA
}

TEST_CASE("tensorboard: bad input is rejected with a clear message", "[tensorboard]") {
  TempDir dir;
  tb::SummaryWriter w(dir / "run");
  REQUIRE_THROWS_WITH(tb::SummaryWriter(dir / "run"), Contains("another SummaryWriter of this process"));
  REQUIRE_THROWS_WITH(w.add_scalar("", 1, 0), Contains("add_scalar: the tag is empty"));
  REQUIRE_THROWS_WITH(w.add_histogram("h", tensor({1.0, NAN}), 0), Contains("add_histogram('h'): element 1 is nan"));
  REQUIRE_THROWS_WITH(w.add_histogram("h", zeros({0}), 0), Contains("has no elements"));
  REQUIRE_THROWS_WITH(w.add_histogram("h", zeros({2}), 0, 0), Contains("bins must be >= 1, got 0"));
  REQUIRE_THROWS_WITH(w.add_image("i", zeros({2, 2, 2}), 0), Contains("needs 1, 3 or 4 channels, got 2"));
  REQUIRE_THROWS_WITH(w.add_image("i", zeros({2, 2}), 0), Contains("dataformats \"HWC\" needs a 3-d image, got shape (2, 2)"));
  REQUIRE_THROWS_WITH(w.add_image("i", zeros({2, 2, 1}, Options(kInt32)), 0), Contains("must be uint8, float32 or float64, got int32"));
  REQUIRE_THROWS_WITH(w.add_image("i", zeros({2, 2}), 0, "WH"), Contains("dataformats must be"));
  REQUIRE_THROWS_WITH(w.add_hparams({}), Contains("add_hparams: no hyperparameters given"));
  REQUIRE_THROWS_WITH(w.add_hparams({{"a", 1}, {"a", 2}}), Contains("duplicate hyperparameter 'a'"));
  REQUIRE_THROWS_WITH(tb::SummaryWriter(dir / "x", tb::SummaryWriterOptions{-1, ""}), Contains("flush_secs must be >= 0"));
  std::ofstream(dir / "file") << "x";
  REQUIRE_THROWS_WITH(tb::SummaryWriter(dir / "file"), Contains("cannot create the directory"));
  w.close();
  w.close();  // idempotent
  REQUIRE_THROWS_WITH(w.add_scalar("a", 1, 0), Contains("add_scalar('a'): the writer of") && Contains("is closed"));
  tb::SummaryWriter again(dir / "run");  // the directory is free once the first writer closed
  CHECK(again.file_path() != w.file_path());
}

TEST_CASE("tensorboard: flushing on the timer, on flush() and on close()", "[tensorboard]") {
  TempDir dir;
  auto size = [](const std::string& p) { return fs::file_size(p); };
  tb::SummaryWriter lazy(dir / "lazy", tb::SummaryWriterOptions{1000.0, ""});
  const auto first = size(lazy.file_path());  // the file_version record is flushed at once
  CHECK(first > 0);
  lazy.add_scalar("a", 1, 0);
  CHECK(size(lazy.file_path()) == first);     // buffered: the last flush is recent
  lazy.flush();
  CHECK(size(lazy.file_path()) > first);
  tb::SummaryWriter eager(dir / "eager", tb::SummaryWriterOptions{0.0, ".v2"});
  CHECK(eager.file_path().size() > 3);
  CHECK(eager.file_path().substr(eager.file_path().size() - 3) == ".v2");
  const auto before = size(eager.file_path());
  eager.add_scalar("a", 1, 0);
  CHECK(size(eager.file_path()) > before);    // flush_secs = 0: every write is flushed
  const auto after_one = size(lazy.file_path());
  lazy.add_text("t", "x", 1);
  lazy.close();
  CHECK(size(lazy.file_path()) > after_one);
}

TEST_CASE("tensorboard: hyperparameter values keep their kind", "[tensorboard]") {
  CHECK(tb::HParamValue("sgd").kind == tb::HParamValue::String);  // not converted to bool
  CHECK(tb::HParamValue(std::string("x")).kind == tb::HParamValue::String);
  CHECK(tb::HParamValue(true).kind == tb::HParamValue::Bool);
  CHECK(tb::HParamValue(3).kind == tb::HParamValue::Number);
  CHECK(tb::HParamValue(int64_t(1) << 40).number == 1099511627776.0);
  CHECK(tb::HParamValue(0.5f).kind == tb::HParamValue::Number);
}

TEST_CASE("tensorboard: the fit() callback writes Keras's layout", "[tensorboard][model]") {
  TempDir dir;
  manual_seed(1);
  Tensor x = randn({24, 3}), y = randn({24, 1});
  nn::Sequential model;
  model.add(nn::Dense(4, "tanh", true, "glorot_uniform", "zeros", 3));
  model.add(nn::Dense(1));
  model.compile("sgd", "mse");
  nn::TensorBoardOptions o;
  o.histogram_freq = 1;
  o.update_freq = 1;
  o.hparams = {{"units", 4}};
  auto board = std::make_shared<nn::TensorBoard>(dir / "run", o);
  model.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .callbacks = {board}, .validation_split = 0.25});
  auto records = [&](const std::string& sub) {
    std::vector<std::string> files;
    for (auto& e : fs::directory_iterator(dir / sub))
      if (e.is_regular_file()) files.push_back(e.path().string());
    REQUIRE(files.size() == 1);  // one event file per run directory
    return read_records(files[0]);
  };
  // train (18 samples: 3 batches of 8, 8, 2): file_version + 2 epochs x (batch_loss x 3
  // batches + epoch_loss + epoch_learning_rate + 4 histograms)
  CHECK(records("run/train").size() == 1 + 2 * (3 + 1 + 1 + 4));
  CHECK(records("run/validation").size() == 1 + 2);       // epoch_loss per epoch
  CHECK(records("run").size() == 1 + 2);                   // experiment + session_start_info
  // A fit() that throws leaves the writers open; the next fit() with the callback closes them.
  auto boom = std::make_shared<nn::LambdaCallback>();
  boom->on_epoch_end_fn = [](int, nn::Logs&) { throw std::runtime_error("boom"); };
  REQUIRE_THROWS_WITH(model.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0, .callbacks = {board, boom}}),
                      Contains("boom"));
  model.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0, .callbacks = {board}});
  CHECK(std::distance(fs::directory_iterator(dir / "run/train"), fs::directory_iterator()) == 3);
  REQUIRE_THROWS_WITH(nn::TensorBoard("", {}), Contains("TensorBoard: log_dir is empty"));
  nn::TensorBoardOptions bad;
  bad.histogram_freq = -1;
  REQUIRE_THROWS_WITH(nn::TensorBoard("x", bad), Contains("histogram_freq must be >= 0, got -1"));
}
