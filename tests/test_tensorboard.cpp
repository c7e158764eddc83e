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
#include <string>
#include <vector>

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
