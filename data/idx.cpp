// Reading IDX files (the MNIST family's format), plain or gzip-compressed, through one small
// byte-stream wrapper over stdio and zlib. The header is big-endian: two zero bytes, a type
// byte (0x08 = uint8) and a dim count, then one uint32 per dim, then exactly prod(dims) bytes.
// Every problem (missing file, bad magic, truncation, trailing bytes) names the path.
#include "data/idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <vector>

#include "tensor/creation.h"

namespace tapeflow::data {
namespace {

// A read-only byte stream over a plain file or a gzip file (chosen by the magic bytes 1f 8b).
class ByteStream {
 public:
  explicit ByteStream(const std::string& path) : path_(path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("read_idx: ", path, ": cannot open file: ", std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    size_t got = std::fread(magic, 1, 2, f);
    gzipped_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gzipped_) {
      std::rewind(f);
      file_ = f;
      return;
    }
    std::fclose(f);
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) fail("read_idx: ", path, ": cannot open gzip file");
    gzbuffer(gz_, 1 << 17);
  }
  ~ByteStream() {
    if (file_) std::fclose(file_);
    if (gz_) gzclose(gz_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Reads up to n bytes; returns how many were read (fewer only at the end of the stream).
  size_t read(void* dst, size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    size_t total = 0;
    while (total < n) {
      size_t want = std::min<size_t>(n - total, size_t(1) << 30);
      size_t got = 0;
      if (file_) {
        got = std::fread(out + total, 1, want, file_);
        if (got < want && std::ferror(file_)) fail("read_idx: ", path_, ": read error");
      } else {
        int r = gzread(gz_, out + total, static_cast<unsigned>(want));
        if (r < 0) gz_fail();
        got = static_cast<size_t>(r);
      }
      total += got;
      if (got < want) break;
    }
    // A gzip stream cut short reads as a short read plus an error flag: report it as such.
    if (gz_ && total < n) check_gz();
    return total;
  }
  // Counts the bytes left (without keeping them).
  uint64_t count_rest() {
    std::vector<unsigned char> buf(1 << 16);
    uint64_t total = 0;
    for (;;) {
      size_t got = read(buf.data(), buf.size());
      total += got;
      if (got < buf.size()) return total;
    }
  }
  bool gzipped() const { return gzipped_; }
  // The bytes left in a plain regular file, or -1 when unknown (gzip, pipes, devices).
  int64_t remaining_size() const {
    if (!file_) return -1;
    struct stat st;
    if (fstat(fileno(file_), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    off_t pos = ftello(file_);
    if (pos < 0 || pos > st.st_size) return -1;
    return int64_t(st.st_size - pos);
  }

 private:
  void check_gz() {
    int code = Z_OK;
    gzerror(gz_, &code);
    if (code != Z_OK && code != Z_STREAM_END) gz_fail();
  }
  [[noreturn]] void gz_fail() {
    int code = Z_OK;
    const char* msg = gzerror(gz_, &code);
    fail("read_idx: ", path_, ": truncated or corrupt gzip data: ", msg ? msg : "unknown zlib error");
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
  bool gzipped_ = false;
};

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex(uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
  return buf;
}

// dir/name.gz if it exists, else dir/name; throws naming both when neither exists.
std::string find_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path gz = fs::path(dir) / (name + ".gz");
  fs::path plain = fs::path(dir) / name;
  std::error_code ec;
  if (fs::is_regular_file(gz, ec)) return gz.string();
  if (fs::is_regular_file(plain, ec)) return plain.string();
  fail("load_mnist: ", dir, ": neither ", name, ".gz nor ", name, " found");
}

// Reads exactly nbytes of data and checks that nothing follows. Memory follows the data that is
// really there, never the size the header declares (issue 17: a 16-byte file declaring 1 GiB
// must not cost 1 GiB): a plain file's size is checked before anything is allocated, a gzip
// stream (whose size is unknown until its end) is read in pieces that grow with what arrived.
std::vector<unsigned char> read_data(ByteStream& in, const std::string& path, uint64_t nbytes) {
  auto truncated = [&](uint64_t got) {
    fail("read_idx: ", path, ": truncated: expected ", nbytes, " bytes of data, got ", got);
  };
  auto trailing = [&](uint64_t extra) {
    fail("read_idx: ", path, ": trailing garbage: ", extra, " bytes after the expected ", nbytes,
         " bytes of data");
  };
  int64_t known = in.remaining_size();
  if (known >= 0 && uint64_t(known) < nbytes) truncated(uint64_t(known));
  if (known >= 0 && uint64_t(known) > nbytes) trailing(uint64_t(known) - nbytes);
  std::vector<unsigned char> data;
  try {
    constexpr uint64_t kFirstPiece = uint64_t(1) << 20;
    uint64_t have = 0;
    while (have < nbytes) {
      // A known size is trusted (it was just checked); otherwise the buffer at most doubles.
      uint64_t want = known >= 0 ? nbytes : std::min(nbytes, std::max(kFirstPiece, 2 * have));
      data.resize(size_t(want));
      size_t got = in.read(data.data() + have, size_t(want - have));
      have += got;
      if (have < want) truncated(have);
    }
  } catch (const std::bad_alloc&) {
    fail("read_idx: ", path, ": out of memory reading ", nbytes, " bytes of data");
  }
  uint64_t extra = in.count_rest();
  if (extra > 0) trailing(extra);
  return data;
}

}  // namespace

Tensor read_idx(const std::string& path) {
  ByteStream in(path);
  unsigned char head[4];
  size_t got = in.read(head, 4);
  if (got < 4)
    fail("read_idx: ", path, ": truncated: the file has ", got, " bytes, shorter than the 4-byte magic number");
  uint32_t magic = big_endian_u32(head);
  if (head[0] != 0 || head[1] != 0)
    fail("read_idx: ", path, ": bad magic number ", hex(magic, 8), " (expected 0x000008NN)");
  if (head[2] != 0x08)
    fail("read_idx: ", path, ": unsupported element type ", hex(head[2], 2),
         " in magic number ", hex(magic, 8), " (only 0x08 = uint8 is supported)");
  int ndims = head[3];
  if (ndims < 1 || ndims > kMaxDims)
    fail("read_idx: ", path, ": bad number of dims ", ndims, " in magic number ", hex(magic, 8),
         " (expected 1 to ", kMaxDims, ")");

  unsigned char dims_raw[4 * kMaxDims];
  got = in.read(dims_raw, 4 * size_t(ndims));
  if (got < 4 * size_t(ndims))
    fail("read_idx: ", path, ": truncated header: expected ", 4 * ndims, " bytes of dims, got ", got);
  Shape shape;
  // NOTE: 2^40 bytes is far past any real IDX file. The product of the non-zero dims is bounded,
  // checked before each multiplication (a zero dim makes no data, but the other dims still set
  // the strides; tests/fuzz/fuzz_idx found 0 x 2^19 x 2^16 x ... overflowing them).
  constexpr uint64_t kMaxBytes = uint64_t(1) << 40;
  uint64_t nonzero = 1;
  bool empty = false;
  for (int i = 0; i < ndims; ++i) {
    uint32_t d = big_endian_u32(dims_raw + 4 * i);
    shape.push_back(d);
    if (d == 0) {
      empty = true;
    } else if (nonzero > kMaxBytes / d) {
      for (int j = i + 1; j < ndims; ++j) shape.push_back(big_endian_u32(dims_raw + 4 * j));
      fail("read_idx: ", path, ": dims ", shape, " are too large (more than 2^40 elements)");
    } else {
      nonzero *= d;
    }
  }
  uint64_t nbytes = empty ? 0 : nonzero;

  std::vector<unsigned char> data = read_data(in, path, nbytes);
  return from_blob_copy(data.data(), shape, kUInt8);
}

MnistData load_mnist(const std::string& dir) {
  MnistData d;
  d.dir = dir;
  d.train_images = read_idx(find_file(dir, "train-images-idx3-ubyte"));
  d.train_labels = read_idx(find_file(dir, "train-labels-idx1-ubyte"));
  d.test_images = read_idx(find_file(dir, "t10k-images-idx3-ubyte"));
  d.test_labels = read_idx(find_file(dir, "t10k-labels-idx1-ubyte"));
  auto check = [&](const char* part, const Tensor& images, const Tensor& labels) {
    if (images.dim() != 3)
      fail("load_mnist: ", dir, ": ", part, " images must be 3-D (N, rows, cols), got shape ", images.shape());
    if (labels.dim() != 1)
      fail("load_mnist: ", dir, ": ", part, " labels must be 1-D (N,), got shape ", labels.shape());
    if (images.size(0) != labels.size(0))
      fail("load_mnist: ", dir, ": ", part, " images (", images.size(0), ") and labels (",
           labels.size(0), ") counts differ");
  };
  check("train", d.train_images, d.train_labels);
  check("t10k", d.test_images, d.test_labels);
  if (d.train_images.size(1) != d.test_images.size(1) || d.train_images.size(2) != d.test_images.size(2))
    fail("load_mnist: ", dir, ": train images ", d.train_images.shape(), " and t10k images ",
         d.test_images.shape(), " differ in image size");
  return d;
}

}  // namespace tapeflow::data
