// Tests for data/: IDX reading (plain, gzip, every corrupt case), load_mnist on the installed
// Fashion-MNIST, to_categorical, the seed's Standardizer and the seeded BatchIterator.
// Expected numbers were computed with NumPy (see the comments); gzip files are produced by a
// tiny independent encoder below (stored deflate blocks + CRC-32) and by Python's gzip module.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "data/dataset.h"
#include "data/idx.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;
namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("tapeflow_data_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { std::error_code ec; fs::remove_all(path, ec); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

// An IDX file: magic 0x000008NN, big-endian dims, then the data.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b = {0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// RFC 1952 gzip of `raw` using stored (uncompressed) deflate blocks, with its CRC-32.
Bytes gzip_stored(const Bytes& raw) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : raw) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  Bytes g = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  size_t pos = 0;
  do {
    size_t n = std::min<size_t>(raw.size() - pos, 65535);
    bool last = pos + n == raw.size();
    g.push_back(last ? 1 : 0);
    g.push_back(n & 0xff); g.push_back(n >> 8);
    g.push_back(~n & 0xff); g.push_back((~n >> 8) & 0xff);
    g.insert(g.end(), raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<unsigned char>(crc >> s));
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<unsigned char>(raw.size() >> s));
  return g;
}

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>((i * 37 + 11) % 256);
  return b;
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

std::vector<int64_t> labels_of(const Tensor& t) { return t.astype(kInt64).to_vector<int64_t>(); }

}  // namespace

TEST_CASE("read_idx reads plain and gzip files", "[data]") {
  TempDir dir;
  Bytes data = pattern(2 * 3 * 4);
  write_file(dir / "x.idx", idx_bytes({2, 3, 4}, data));
  write_file(dir / "x.idx.gz", gzip_stored(idx_bytes({2, 3, 4}, data)));
  for (const char* name : {"x.idx", "x.idx.gz"}) {
    Tensor t = data::read_idx(dir / name);
    CHECK(t.dtype() == kUInt8);
    CHECK(t.shape() == Shape{2, 3, 4});
    CHECK(t.to_vector<uint8_t>() == std::vector<uint8_t>(data.begin(), data.end()));
  }
  // A 1-D label file larger than one stored gzip block (65535 bytes).
  Bytes labels = pattern(70000);
  write_file(dir / "labels.gz", gzip_stored(idx_bytes({70000}, labels)));
  Tensor l = data::read_idx(dir / "labels.gz");
  CHECK(l.shape() == Shape{70000});
  CHECK(l.to_vector<uint8_t>() == std::vector<uint8_t>(labels.begin(), labels.end()));
  // Empty dims are allowed: no data bytes at all.
  write_file(dir / "empty.idx", idx_bytes({0, 28}, {}));
  CHECK(data::read_idx(dir / "empty.idx").shape() == Shape{0, 28});
}

TEST_CASE("read_idx reads a gzip file compressed by Python", "[data]") {
  // tests/data/tiny-idx3-ubyte.gz: gzip.compress of an IDX (2, 3, 2) file holding 0..11 * 20.
  Tensor t = data::read_idx(TAPEFLOW_SOURCE_DIR "/tests/data/tiny-idx3-ubyte.gz");
  CHECK(t.shape() == Shape{2, 3, 2});
  CHECK(t.to_vector<uint8_t>() ==
        std::vector<uint8_t>{0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220});
}

TEST_CASE("read_idx rejects missing, malformed, truncated and oversized files", "[data]") {
  TempDir dir;
  auto msg = [&](const std::string& name, const Bytes& bytes) {
    write_file(dir / name, bytes);
    std::string m = error_of([&] { data::read_idx(dir / name); });
    CHECK_THAT(m, StartsWith("read_idx: " + (dir / name) + ": "));
    return m;
  };
  Bytes good = idx_bytes({2, 3, 4}, pattern(24));

  CHECK_THAT(error_of([&] { data::read_idx(dir / "nope.idx"); }),
             StartsWith("read_idx: " + (dir / "nope.idx") + ": cannot open file"));
  CHECK_THAT(msg("short", {0, 0, 8}), Contains("shorter than the 4-byte magic number"));
  CHECK_THAT(msg("magic", {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 5}),
             Contains("bad magic number 0x12345678 (expected 0x000008NN)"));
  CHECK_THAT(msg("type", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0}),
             Contains("unsupported element type 0x0D"));
  CHECK_THAT(msg("dims0", {0, 0, 8, 0}), Contains("bad number of dims 0"));
  CHECK_THAT(msg("dims9", {0, 0, 8, 9}), Contains("bad number of dims 9"));
  CHECK_THAT(msg("header", Bytes(good.begin(), good.begin() + 12)),
             Contains("truncated header: expected 12 bytes of dims, got 8"));
  Bytes cut(good.begin(), good.end() - 4);
  CHECK_THAT(msg("cut", cut), Contains("truncated: expected 24 bytes of data, got 20"));
  CHECK_THAT(msg("cut.gz", gzip_stored(cut)), Contains("truncated: expected 24 bytes of data, got 20"));
  Bytes extra = good;
  extra.insert(extra.end(), {1, 2, 3});
  CHECK_THAT(msg("extra", extra), Contains("trailing garbage: 3 bytes after the expected 24 bytes of data"));
  CHECK_THAT(msg("extra.gz", gzip_stored(extra)), Contains("trailing garbage: 3 bytes"));
  // A gzip stream cut in the middle: zlib reports the unexpected end.
  Bytes gz = gzip_stored(good);
  CHECK_THAT(msg("cutstream.gz", Bytes(gz.begin(), gz.end() - 12)),
             Contains("truncated or corrupt gzip data"));
  // Dims whose product is absurd are refused before any allocation.
  CHECK_THAT(msg("huge", idx_bytes({0xFFFFFFFF, 0xFFFFFFFF}, {})), Contains("too large"));
  // Also beside a zero dim (no data, but the strides would overflow; found by fuzz_idx).
  CHECK_THAT(msg("huge0", idx_bytes({0, 1u << 19, 1u << 25, 1u << 20}, {})), Contains("too large"));
  CHECK_THAT(msg("huge0b", idx_bytes({1024, 0, 3840, 0, 0, 32768, 1u << 31, 194}, {})), Contains("too large"));
  // A product that wrapped to 0 in 64 bits read as an empty tensor.
  CHECK_THAT(msg("wraps", idx_bytes({1u << 20, 1u << 20, 1u << 24}, {})),
             Contains("dims (1048576, 1048576, 16777216) are too large"));
}

TEST_CASE("read_idx checks the declared size against the file before allocating it", "[data]") {
  // Issue 17: a 16-byte file declaring 1 GiB took RSS to 1 GiB, one declaring 2^40 bytes threw
  // std::bad_alloc. Now the size is checked first (plain) or memory follows the data (gzip).
  TempDir dir;
  auto max_rss_kb = [] {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return long(ru.ru_maxrss);
  };
  long before = max_rss_kb();
  struct Case { std::string name; Bytes bytes; std::string expect; };
  Bytes gib = idx_bytes({1024, 1024, 1024}, {});
  REQUIRE(gib.size() == 16);
  Bytes tib = idx_bytes({1u << 20, 1u << 20}, {1, 2, 3});
  std::vector<Case> cases = {
      {"gib", gib, "truncated: expected 1073741824 bytes of data, got 0"},
      {"gib.gz", gzip_stored(gib), "truncated: expected 1073741824 bytes of data, got 0"},
      {"tib", tib, "truncated: expected 1099511627776 bytes of data, got 3"},
      {"tib.gz", gzip_stored(tib), "truncated: expected 1099511627776 bytes of data, got 3"},
  };
  // A gzip stream holding 3 MiB of a declared 1 GiB: read in growing pieces, then refused.
  Bytes part = idx_bytes({1024, 1024, 1024}, pattern(3u << 20));
  cases.push_back({"part.gz", gzip_stored(part), "truncated: expected 1073741824 bytes of data, got 3145728"});
  for (const Case& c : cases) {
    INFO(c.name);
    write_file(dir / c.name, c.bytes);
    try {
      data::read_idx(dir / c.name);
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), StartsWith("read_idx: " + (dir / c.name) + ": ") && Contains(c.expect));
    }  // anything else (std::bad_alloc) fails the test
  }
  CHECK(max_rss_kb() - before < 64 * 1024);  // kB; was > 1 GiB
  // Trailing bytes of a plain file are found from its size too; the data itself is unchanged.
  Bytes good = idx_bytes({2, 3}, pattern(6));
  write_file(dir / "ok", good);
  CHECK(labels_of(data::read_idx(dir / "ok").reshape({6})) == labels_of(from_blob_copy(pattern(6).data(), {6}, kUInt8)));
  good.push_back(0);
  write_file(dir / "plus1", good);
  CHECK_THAT(error_of([&] { data::read_idx(dir / "plus1"); }),
             Contains("trailing garbage: 1 bytes after the expected 6 bytes of data"));
}

TEST_CASE("load_mnist finds plain files and checks counts", "[data]") {
  TempDir dir;
  write_file(dir / "train-images-idx3-ubyte", idx_bytes({3, 2, 2}, pattern(12)));
  write_file(dir / "train-labels-idx1-ubyte.gz", gzip_stored(idx_bytes({3}, {4, 5, 6})));
  write_file(dir / "t10k-images-idx3-ubyte", idx_bytes({2, 2, 2}, pattern(8)));
  CHECK_THAT(error_of([&] { data::load_mnist(dir.path.string()); }),
             Contains("neither t10k-labels-idx1-ubyte.gz nor t10k-labels-idx1-ubyte found"));
  write_file(dir / "t10k-labels-idx1-ubyte", idx_bytes({1}, {9}));
  CHECK_THAT(error_of([&] { data::load_mnist(dir.path.string()); }),
             Contains("t10k images (2) and labels (1) counts differ"));
  write_file(dir / "t10k-labels-idx1-ubyte", idx_bytes({2}, {9, 8}));
  data::MnistData d = data::load_mnist(dir.path.string());
  CHECK(d.train_images.shape() == Shape{3, 2, 2});
  CHECK(labels_of(d.train_labels) == std::vector<int64_t>{4, 5, 6});
  CHECK(labels_of(d.test_labels) == std::vector<int64_t>{9, 8});
}

TEST_CASE("load_mnist reads the installed Fashion-MNIST", "[data]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST is not installed: skipped");
    return;
  }
  data::MnistData d = data::load_mnist(dir);
  CHECK(d.train_images.shape() == Shape{60000, 28, 28});
  CHECK(d.train_labels.shape() == Shape{60000});
  CHECK(d.test_images.shape() == Shape{10000, 28, 28});
  CHECK(d.test_labels.shape() == Shape{10000});
  CHECK(d.train_images.dtype() == kUInt8);
  // Reference values from NumPy over the same files.
  CHECK(labels_of(d.train_labels.slice(0, 0, 10)) == std::vector<int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
  CHECK(labels_of(d.test_labels.slice(0, 0, 5)) == std::vector<int64_t>{9, 2, 1, 1, 6});
  CHECK(labels_of(d.train_labels.slice(0, 59995)) == std::vector<int64_t>{5, 1, 3, 0, 5});
  CHECK(d.train_images[0].astype(kInt64).sum().item<int64_t>() == 76247);
  CHECK(d.test_images[9999].astype(kInt64).sum().item<int64_t>() == 24390);
  CHECK(labels_of(d.train_images[0][14].slice(0, 10, 14)) == std::vector<int64_t>{0, 0, 237, 226});

  // The seed's standardisation: NumPy gives np.std(X_train) = 0.7060484890298449 and
  // per-pixel means -0.9999937254901959 (pixel 0) and -0.17887071895422815 (pixel 400).
  data::PixelStandardizer st;
  st.fit(d.train_images);
  CHECK(st.std == Approx(0.7060484890298449).epsilon(1e-12));
  CHECK(st.mean.shape() == Shape{784});
  CHECK(st.mean[0].item<double>() == Approx(-0.9999937254901959).epsilon(1e-12));
  CHECK(st.mean[400].item<double>() == Approx(-0.17887071895422815).epsilon(1e-12));
  Tensor test_x = st.transform(d.test_images);
  CHECK(test_x.shape() == Shape{10000, 784});
  CHECK(test_x.dtype() == kFloat32);
  CHECK(test_x[0][400].item<float>() == Approx(-1.1518843f).epsilon(1e-6));
  CHECK(test_x[9999][100].item<float>() == Approx(-1.1829586f).epsilon(1e-6));
  CHECK(test_x.astype(kFloat64).mean().item<double>() == Approx(0.002290731387411289).epsilon(1e-6));
}

TEST_CASE("to_categorical", "[data]") {
  Tensor y = from_vector<uint8_t>({2, 0, 1});
  Tensor oh = data::to_categorical(y);
  CHECK(oh.dtype() == kFloat32);
  CHECK(oh.shape() == Shape{3, 3});
  CHECK(oh.to_vector<float>() == std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0});
  Tensor oh5 = data::to_categorical(from_vector<int64_t>({4, 1}), 5);
  CHECK(oh5.shape() == Shape{2, 5});
  CHECK(oh5.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 1, 0, 1, 0, 0, 0});
  CHECK(data::to_categorical(from_vector<int32_t>(std::vector<int32_t>{}), 4).shape() == Shape{0, 4});

  CHECK_THAT(error_of([] { data::to_categorical(from_vector<int64_t>({0, 3}), 3); }),
             Contains("to_categorical: label 3 is out of range for num_classes = 3"));
  CHECK_THAT(error_of([] { data::to_categorical(from_vector<int32_t>({1, -1})); }),
             Contains("to_categorical: labels must be non-negative, got -1"));
  CHECK_THAT(error_of([] { data::to_categorical(from_vector<float>({1.0f})); }),
             Contains("to_categorical: labels must be integers"));
  CHECK_THAT(error_of([] { data::to_categorical(zeros(Shape{2, 2}, kInt64)); }),
             Contains("to_categorical: labels must be 1-D (N,), got shape (2, 2)"));
  CHECK_THAT(error_of([] { data::to_categorical(from_vector<int32_t>(std::vector<int32_t>{})); }),
             Contains("cannot infer num_classes from empty labels"));
}

TEST_CASE("Standardizer on a hand example", "[data]") {
  // Pixels [[0, 255, 51], [255, 255, 102]] scale to [[-1, 1, -0.6], [1, 1, -0.2]]:
  // per-pixel mean [0, 1, -0.4]; global mean 0.2; std = sqrt(4.16 / 6) = 0.8326663997864531.
  Tensor images = from_vector<uint8_t>({0, 255, 51, 255, 255, 102}, Shape{2, 1, 3});
  data::PixelStandardizer st;
  CHECK_THAT(error_of([&] { st.transform(images); }), Contains("call fit() first"));
  st.fit(images);
  CHECK(st.std == Approx(0.8326663997864531).epsilon(1e-14));
  std::vector<double> mean = st.mean.astype(kFloat64).to_vector<double>();
  REQUIRE(mean.size() == 3);
  CHECK(mean[0] == Approx(0.0).margin(1e-15));
  CHECK(mean[1] == Approx(1.0).epsilon(1e-15));
  CHECK(mean[2] == Approx(-0.4).epsilon(1e-14));
  Tensor x = st.transform(images);
  CHECK(x.shape() == Shape{2, 3});
  CHECK(x.dtype() == kFloat32);
  std::vector<float> expect = {-1.2009611f, 0.0f, -0.24019223f, 1.2009611f, 0.0f, 0.24019223f};
  std::vector<float> got = x.to_vector<float>();
  for (size_t i = 0; i < expect.size(); ++i) CHECK(got[i] == Approx(expect[i]).margin(1e-7));
  CHECK_THAT(error_of([&] { st.transform(zeros(Shape{2, 4}, kUInt8)); }),
             Contains("have 4 pixels each, but fit() saw 3"));
  CHECK_THAT(error_of([&] { data::PixelStandardizer().fit(full(Shape{2, 2}, 7, kUInt8)); }),
             Contains("std = 0"));
}

namespace {

// One epoch of label values in the order the iterator yields them; checks x rows follow y.
std::vector<int64_t> run_epoch(data::BatchIterator& it, std::vector<int64_t>* sizes = nullptr) {
  std::vector<int64_t> seen;
  Tensor xb, yb;
  while (it.next(xb, yb)) {
    std::vector<int64_t> ys = yb.to_vector<int64_t>();
    std::vector<float> xs = xb.to_vector<float>();
    REQUIRE(xs.size() == 2 * ys.size());
    for (size_t i = 0; i < ys.size(); ++i) {
      CHECK(xs[2 * i] == float(10 * ys[i]));
      CHECK(xs[2 * i + 1] == float(10 * ys[i] + 1));
    }
    if (sizes) sizes->push_back(int64_t(ys.size()));
    seen.insert(seen.end(), ys.begin(), ys.end());
  }
  return seen;
}

}  // namespace

TEST_CASE("BatchIterator covers every sample once per epoch, reproducibly", "[data]") {
  // x row i = [10 i, 10 i + 1], y = i.
  std::vector<float> xv;
  for (int i = 0; i < 10; ++i) { xv.push_back(10.0f * i); xv.push_back(10.0f * i + 1); }
  Tensor x = from_vector(xv, Shape{10, 2});
  Tensor y = arange(10);
  std::vector<int64_t> all(10);
  for (int i = 0; i < 10; ++i) all[i] = i;

  data::BatchIterator it(x, y, 3, true, 42);
  CHECK(it.size() == 10);
  CHECK(it.num_batches() == 4);
  std::vector<int64_t> sizes;
  std::vector<int64_t> e1 = run_epoch(it, &sizes);  // next() starts the first epoch itself
  CHECK(sizes == std::vector<int64_t>{3, 3, 3, 1});
  std::vector<int64_t> sorted = e1;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == all);
  CHECK(e1 != all);  // shuffled
  Tensor xb, yb;
  CHECK_FALSE(it.next(xb, yb));
  it.start_epoch();
  std::vector<int64_t> e2 = run_epoch(it);
  CHECK(e2 != e1);  // reshuffled between epochs
  sorted = e2;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == all);

  // Same seed: same sequence of epochs; another seed: another order.
  data::BatchIterator again(x, y, 3, true, 42);
  again.start_epoch();
  CHECK(run_epoch(again) == e1);
  again.start_epoch();
  CHECK(run_epoch(again) == e2);
  data::BatchIterator other(x, y, 3, true, 43);
  CHECK(run_epoch(other) != e1);

  // No shuffle: in order, every epoch.
  data::BatchIterator plain(x, y, 4, false);
  CHECK(plain.num_batches() == 3);
  CHECK(run_epoch(plain) == all);
  plain.start_epoch();
  CHECK(run_epoch(plain) == all);
}

TEST_CASE("BatchIterator rejects bad arguments", "[data]") {
  CHECK_THAT(error_of([] { data::BatchIterator(zeros(Shape{4, 2}), arange(3), 2); }),
             Contains("BatchIterator: x (4, 2) and y (3,) differ in their number of samples"));
  CHECK_THAT(error_of([] { data::BatchIterator(zeros(Shape{4, 2}), arange(4), 0); }),
             Contains("BatchIterator: batch_size must be positive, got 0"));
}
