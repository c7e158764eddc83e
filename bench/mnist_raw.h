// A tiny reader of the MNIST family's IDX files (.gz through zlib) for torch_bench, which does
// not link tapeflow: the bytes of one file and its dims. tapeflow_bench uses data/idx.h instead.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct IdxFile {
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // the uint8 payload in row-major order
};

inline IdxFile read_idx_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  auto read_exact = [&](void* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      int r = gzread(f, static_cast<char*>(dst) + got, unsigned(n - got));
      if (r <= 0) { gzclose(f); throw std::runtime_error("truncated IDX file " + path); }
      got += size_t(r);
    }
  };
  unsigned char magic[4];
  read_exact(magic, 4);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 1 || magic[3] > 4) {
    gzclose(f);
    throw std::runtime_error("not a uint8 IDX file: " + path);
  }
  IdxFile out;
  size_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    read_exact(b, 4);
    int64_t v = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    out.dims.push_back(v);
    total *= size_t(v);
  }
  out.bytes.resize(total);
  read_exact(out.bytes.data(), total);
  gzclose(f);
  return out;
}

}  // namespace bench
