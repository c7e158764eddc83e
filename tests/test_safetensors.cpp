// Tests for data/safetensors: round trips of every dtype, files written by Python's
// `safetensors` (tests/data/make_fixtures.py), byte-identical output against Python's writer,
// and every kind of corrupt file, each by the message it raises.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "data/json.h"
#include "data/safetensors.h"
#include "helpers.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("tapeflow_st_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { std::error_code ec; fs::remove_all(path, ec); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A safetensors file by hand: 8-byte little-endian length (the header's unless given), the
// header text, then data_len bytes of 0x01.
std::string st_file(const std::string& header, size_t data_len, uint64_t len = UINT64_MAX) {
  if (len == UINT64_MAX) len = header.size();
  std::string out;
  for (int i = 0; i < 8; ++i) out += char((len >> (8 * i)) & 0xff);
  return out + header + std::string(data_len, '\x01');
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no tapeflow::Error thrown>";
}

const Tensor& find(const data::NamedTensors& ts, const std::string& name) { return tftest::find_named(ts, name); }

std::vector<std::string> names_of(const data::NamedTensors& ts) {
  std::vector<std::string> out;
  for (const auto& nt : ts) out.push_back(nt.first);
  return out;
}

Tensor bools(std::initializer_list<bool> v) {
  std::vector<uint8_t> bytes(v.begin(), v.end());
  return from_blob_copy(bytes.data(), Shape{int64_t(bytes.size())}, kBool);
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype", "[safetensors]") {
  TempDir dir;
  const std::string path = dir / "all.safetensors";
  data::NamedTensors in = {
      {"f32", from_vector<float>({0.5f, -1.25f, 3e38f, -0.0f, 1e-45f, 7.0f}, Shape{2, 3})},
      {"f64", from_vector<double>({0.1, -2.5, 1e300}, Shape{3})},
      {"i64", from_vector<int64_t>({INT64_MIN, -1, INT64_MAX, 5}, Shape{2, 1, 2})},
      {"i32", from_vector<int32_t>({INT32_MIN, 0, INT32_MAX}, Shape{3})},
      {"u8", from_vector<uint8_t>({0, 1, 128, 255}, Shape{2, 2})},
      {"mask", bools({true, false, true})},
      {"scalar", scalar_tensor(2.5, kFloat64, Device::cpu())},
      {"empty", zeros(Shape{0, 3})},
      // A non-contiguous view is saved by its values: [[0, 3], [1, 4], [2, 5]].
      {"view", from_vector<float>({0, 1, 2, 3, 4, 5}, Shape{2, 3}).transpose(0, 1)},
  };
  std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"quote\"back\\slash", "line\nfeed\ttab\x01 \xc3\xa9 /"}, {"empty", ""}};
  data::save_safetensors(path, in, meta);

  std::map<std::string, std::string> meta_out;
  data::NamedTensors out = data::load_safetensors(path, &meta_out);
  CHECK(meta_out == meta);
  // Laid out as Python does: by dtype (I64, F64, F32, I32, U8, BOOL), then by name.
  CHECK(names_of(out) == std::vector<std::string>{"i64", "f64", "scalar", "empty", "f32", "view",
                                                  "i32", "u8", "mask"});
  for (const auto& [name, t] : out) {
    INFO(name);
    const Tensor& ref = find(in, name);
    CHECK(t.dtype() == ref.dtype());
    CHECK(t.shape() == ref.shape());
    CHECK(t.device() == Device::cpu());
  }
  CHECK(find(out, "f32").to_vector<float>() == std::vector<float>{0.5f, -1.25f, 3e38f, -0.0f, 1e-45f, 7.0f});
  CHECK(find(out, "f64").to_vector<double>() == std::vector<double>{0.1, -2.5, 1e300});
  CHECK(find(out, "i64").to_vector<int64_t>() == std::vector<int64_t>{INT64_MIN, -1, INT64_MAX, 5});
  CHECK(find(out, "i32").to_vector<int32_t>() == std::vector<int32_t>{INT32_MIN, 0, INT32_MAX});
  CHECK(find(out, "u8").to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 128, 255});
  CHECK(find(out, "mask").astype(kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(find(out, "scalar").item<double>() == 2.5);
  CHECK(find(out, "empty").numel() == 0);
  CHECK(find(out, "view").shape() == Shape{3, 2});
  CHECK(find(out, "view").to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});

  // No tensors and no metadata is a valid file too: the header "{}" padded to 8 bytes.
  data::save_safetensors(dir / "none.safetensors", {});
  CHECK(read_bytes(dir / "none.safetensors") == st_file("{}      ", 0));
  CHECK(data::load_safetensors(dir / "none.safetensors").empty());
}

TEST_CASE("safetensors reads a file written by Python", "[safetensors]") {
  std::map<std::string, std::string> meta;
  data::NamedTensors ts = data::load_safetensors(TAPEFLOW_SOURCE_DIR "/tests/data/py_mixed.safetensors", &meta);
  CHECK(meta == std::map<std::string, std::string>{
                    {"format", "np"}, {"epoch", "7"}, {"note", "quote \" and \xc3\xa9"}});
  CHECK(names_of(ts) == std::vector<std::string>{"steps", "bias", "empty", "weight", "ids", "pixels", "mask"});
  CHECK(find(ts, "weight").dtype() == kFloat32);
  CHECK(find(ts, "weight").shape() == Shape{2, 3});
  CHECK(find(ts, "weight").to_vector<float>() == std::vector<float>{0.5f, -1.25f, 3.0f, 0.0f, 1e-3f, -7.0f});
  CHECK(find(ts, "bias").dtype() == kFloat64);
  CHECK(find(ts, "bias").to_vector<double>() == std::vector<double>{0.1, -2.5, 1e300});
  CHECK(find(ts, "steps").dtype() == kInt64);
  CHECK(find(ts, "steps").dim() == 0);
  CHECK(find(ts, "steps").item<int64_t>() == 1234567890123);
  CHECK(find(ts, "ids").dtype() == kInt32);
  CHECK(find(ts, "ids").shape() == Shape{2, 2});
  CHECK(find(ts, "ids").to_vector<int32_t>() == std::vector<int32_t>{-1, 2, INT32_MAX, INT32_MIN});
  CHECK(find(ts, "pixels").dtype() == kUInt8);
  CHECK(find(ts, "pixels").to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 128, 255});
  CHECK(find(ts, "mask").dtype() == kBool);
  CHECK(find(ts, "mask").astype(kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(find(ts, "empty").shape() == Shape{0, 3});
}

TEST_CASE("safetensors writer output is byte-identical to Python's", "[safetensors]") {
  TempDir dir;
  // The same tensors as py_canonical.safetensors (tests/data/make_fixtures.py), in another order.
  data::NamedTensors ts = {
      {"z", bools({false, true, true})},
      {"layer\xc3\xa9\"q", from_vector<double>({9.0}, Shape{1})},
      {"i", from_vector<int32_t>({1, -1, 65536}, Shape{1, 3})},
      {"a", from_vector<float>({1.5f, -2.0f})},
      {"e", zeros(Shape{2, 0})},
      {"B", from_vector<int64_t>({-3, 4})},
      {"u", from_vector<uint8_t>({7, 250})},
      {"b", from_vector<float>({0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 1.25f}, Shape{2, 3})},
      {"a.b", scalar_tensor(2.5, kFloat64, Device::cpu())},
  };
  data::save_safetensors(dir / "ours.safetensors", ts, {{"format", "pt"}});
  std::string ours = read_bytes(dir / "ours.safetensors");
  std::string python = read_bytes(TAPEFLOW_SOURCE_DIR "/tests/data/py_canonical.safetensors");
  REQUIRE(python.size() == 633);
  CHECK(ours == python);
}

TEST_CASE("safetensors writer rejects bad input", "[safetensors]") {
  TempDir dir;
  const std::string path = dir / "bad.safetensors";
  CHECK_THAT(error_of([&] { data::save_safetensors(path, {{"a", zeros(Shape{1})}, {"a", zeros(Shape{2})}}); }),
             Contains("save_safetensors: " + path + ": duplicate tensor name 'a'"));
  CHECK_THAT(error_of([&] { data::save_safetensors(path, {{"__metadata__", zeros(Shape{1})}}); }),
             Contains("'__metadata__' is reserved"));
  CHECK_THAT(error_of([&] { data::save_safetensors(path, {{"a", Tensor()}}); }),
             Contains("tensor 'a' is undefined"));
  CHECK_THAT(error_of([&] { data::save_safetensors(dir / "no/such/dir/x.safetensors", {}); }),
             Contains("cannot open for writing"));
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("safetensors reader rejects corrupt files", "[safetensors]") {
  TempDir dir;
  const std::string good_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  int counter = 0;
  // Writes the bytes, loads them, and returns the message (which must name the path).
  auto msg = [&](const std::string& bytes) {
    std::string path = dir / std::string("f").append(std::to_string(counter++)).append(".safetensors");
    write_bytes(path, bytes);
    std::map<std::string, std::string> meta = {{"untouched", "yes"}};
    std::string m = error_of([&] { data::load_safetensors(path, &meta); });
    CHECK_THAT(m, StartsWith("load_safetensors: " + path + ": "));
    CHECK(meta == std::map<std::string, std::string>{{"untouched", "yes"}});  // nothing returned
    return m;
  };
  // Sanity: the well-formed base case loads.
  write_bytes(dir / "ok.safetensors", st_file("{" + good_entry + "}", 8));
  REQUIRE(data::load_safetensors(dir / "ok.safetensors").size() == 1);

  CHECK_THAT(error_of([&] { data::load_safetensors(dir / "missing.safetensors"); }),
             Contains("cannot open file"));
  // Sizes.
  CHECK_THAT(msg(std::string("\x05\0\0\0\0", 5)), Contains("file is 5 bytes, too short for the 8-byte header length"));
  CHECK_THAT(msg(st_file("{}", 0, 200'000'000)), Contains("header length 200000000 is larger than the 100 MB limit"));
  CHECK_THAT(msg(st_file("{" + good_entry + "}", 0, 300)), Contains("header length 300 is larger than the 54 bytes after it"));
  CHECK_THAT(msg(st_file("{" + good_entry + "}", 5)),
             Contains("tensor 'a': data_offsets [0, 8] are out of range: the data section has 5 bytes"));
  CHECK_THAT(msg(st_file("{" + good_entry + "}", 11)),
             Contains("3 bytes after the last tensor are not covered by any data_offsets"));
  // JSON.
  CHECK_THAT(msg(st_file(" {}", 0)), Contains("header does not start with '{'"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32",}})", 0)), Contains("header: malformed JSON at byte 20"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8)),
             Contains("malformed JSON"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8)),
             Contains("only integers are allowed"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[true],"data_offsets":[0,8]}})", 8)),
             Contains("unexpected character 't'"));
  CHECK_THAT(msg(st_file("{\"\xff\":{}}", 0)), Contains("invalid UTF-8"));
  CHECK_THAT(msg(st_file("[]", 0)), Contains("header does not start with '{'"));
  CHECK_THAT(msg(st_file("{} x", 0)), Contains("unexpected text after the end of the value"));
  // Keys and values.
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2]}})", 8)), Contains("tensor 'a': missing key 'data_offsets'"));
  CHECK_THAT(msg(st_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8)), Contains("tensor 'a': missing key 'dtype'"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8)),
             Contains("tensor 'a': unexpected key 'x'"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}})", 4)),
             Contains("tensor 'a': unsupported dtype 'I16' (supported: BOOL, U8, I32, I64, F16, BF16, F32, F64)"));
  // The half types (loaded as float32) are checked by their own 2-byte size.
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}})", 4)),
             Contains("tensor 'a': shape (3,) of F16 needs 6 bytes but data_offsets [0, 4] span 4"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,6]}})", 6)),
             Contains("tensor 'a': shape (2, 2) of BF16 needs 8 bytes but data_offsets [0, 6] span 6"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 2)),
             Contains("tensor 'a': data_offsets [0, 4] are out of range: the data section has 2 bytes"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", 3)),
             Contains("1 bytes after the last tensor are not covered by any data_offsets"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}})", 8)),
             Contains("'shape' must hold non-negative integers"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8)),
             Contains("'data_offsets' must be two non-negative integers"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             Contains("tensor 'a': shape (3,) of F32 needs 12 bytes but data_offsets [0, 8] span 8"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
             Contains("data_offsets [8, 0] end before they begin"));
  CHECK_THAT(msg(st_file("{" + good_entry + "," + good_entry + "}", 8)), Contains("duplicate tensor name 'a'"));
  CHECK_THAT(msg(st_file(R"({"__metadata__":{"k":1}})", 0)), Contains("metadata 'k' must be a string, got integer"));
  CHECK_THAT(msg(st_file(R"({"__metadata__":{"k":"v","k":"w"}})", 0)), Contains("duplicate metadata key 'k'"));
  // Layout of the data section.
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
             Contains("tensors 'a' [0, 8] and 'b' [4, 12] overlap"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12)),
             Contains("a hole of 4 bytes before tensor 'b' at offset 8"));
  CHECK_THAT(msg(st_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4)),
             Contains("a hole of 2 bytes before tensor 'a' at offset 2"));
  // Data that cannot be a valid value.
  std::string bad_bool = st_file(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", 0) + "\x01\x02";
  CHECK_THAT(msg(bad_bool), Contains("tensor 'm': BOOL element 1 holds byte 2 (not 0 or 1)"));
}

TEST_CASE("safetensors header JSON reader and escaper", "[safetensors]") {
  namespace json = data::json;
  json::Value v = json::parse(R"( {"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00","n":[0,-12,9223372036854775807,-9223372036854775808],"o":{}} )", "t");
  REQUIRE(v.is_object());
  REQUIRE(v.members.size() == 3);
  CHECK(v.members[0].first == "s");
  CHECK(v.members[0].second.str == "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  const json::Value& n = v.members[1].second;
  REQUIRE(n.items.size() == 4);
  CHECK(n.items[0].integer == 0);
  CHECK(n.items[1].integer == -12);
  CHECK(n.items[2].integer == INT64_MAX);
  CHECK(n.items[3].integer == INT64_MIN);
  CHECK(v.members[2].second.is_object());
  CHECK(v.members[2].second.members.empty());

  auto bad = [](const std::string& text) { return error_of([&] { json::parse(text, "t"); }); };
  CHECK_THAT(bad(R"(["\ud83d"])"), Contains("unpaired high surrogate"));
  CHECK_THAT(bad(R"(["\ude00"])"), Contains("unpaired low surrogate"));
  CHECK_THAT(bad(R"(["\x"])"), Contains("unknown escape '\\x'"));
  CHECK_THAT(bad(R"(["\u12g4"])"), Contains("bad hex digit"));
  CHECK_THAT(bad("[\"a\nb\"]"), Contains("raw control character"));
  CHECK_THAT(bad("[01]"), Contains("leading zeros"));
  CHECK_THAT(bad("[9223372036854775808]"), Contains("out of the 64-bit range"));
  CHECK_THAT(bad("[1e3]"), Contains("only integers are allowed"));
  CHECK_THAT(bad("[null]"), Contains("unexpected character 'n'"));
  CHECK_THAT(bad("[1,]"), Contains("t: malformed JSON at byte 3"));
  CHECK_THAT(bad("{\"a\" 1}"), Contains("expected ':'"));
  CHECK_THAT(bad("[\"abc"), Contains("unterminated string"));
  CHECK_THAT(bad("\"\xc3\x28\""), Contains("invalid UTF-8"));
  CHECK_THAT(bad("\"\xed\xa0\x80\""), Contains("invalid UTF-8"));  // an encoded surrogate
  CHECK_THAT(bad("\"\xc0\xaf\""), Contains("invalid UTF-8"));      // overlong
  CHECK_THAT(bad(std::string(70, '[') + std::string(70, ']')), Contains("nesting deeper than 64 levels"));
  CHECK_THAT(bad(""), Contains("the text ended"));

  std::string out;
  json::append_quoted(out, "q\"b\\n\n\t\x01\x1f\x7f/\xc3\xa9");
  CHECK(out == "\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\x7f/\xc3\xa9\"");  // as serde_json writes it
  CHECK(json::valid_utf8("plain \xc3\xa9 \xf0\x9f\x98\x80"));
  CHECK_FALSE(json::valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}
