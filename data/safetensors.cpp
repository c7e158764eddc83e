// Writing and reading safetensors files. The writer lays tensors out as Python's `safetensors`
// does (dtype from I64 down to BOOL, then name; header padded with spaces to a multiple of 8),
// so the same tensors and at most one metadata entry give the same bytes. The reader checks
// the whole header (JSON, keys, dtypes, shapes, offsets tiling the data exactly) before it
// reads any data, and returns nothing unless the whole file is valid.
#include "data/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "data/json.h"
#include "tensor/creation.h"

namespace tapeflow::data {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr uint64_t kMaxHeader = 100'000'000;  // the limit of the reference implementation

const char* dtype_code(DType t) {
  switch (t) {
    case DType::Bool: return "BOOL";
    case DType::UInt8: return "U8";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
    case DType::Float32: return "F32";
    default: return "F64";
  }
}

bool parse_dtype_code(const std::string& code, DType* out) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (code == dtype_code(DType(i))) { *out = DType(i); return true; }
  }
  return false;
}

// Python's writer sorts by its Dtype enum, descending: I64 > F64 > F32 > I32 > U8 > BOOL.
int layout_rank(DType t) {
  switch (t) {
    case DType::Int64: return 0;
    case DType::Float64: return 1;
    case DType::Float32: return 2;
    case DType::Int32: return 3;
    case DType::UInt8: return 4;
    default: return 5;
  }
}

// F16 and BF16 (PyTorch's half types) have no tapeflow dtype: they load as float32, exactly
// (every half value is a float32 value).
enum class Half { None, F16, BF16 };

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (man << 13));  // inf, NaN
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    float v = std::ldexp(float(man), -24);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}
float bf16_to_f32(uint16_t b) { return std::bit_cast<float>(uint32_t(b) << 16); }

struct Entry {
  std::string name;
  std::string code;  // the file's dtype code
  Half half = Half::None;
  DType dtype = kFloat32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

// Closes on scope exit.
struct File {
  std::FILE* f = nullptr;
  ~File() { if (f) std::fclose(f); }
};

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string who = str_cat("save_safetensors: ", path, ": ");
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) fail(who, "tensor '", name, "' is undefined");
    if (name == "__metadata__") fail(who, "'__metadata__' is reserved and cannot name a tensor");
    if (!json::valid_utf8(name)) fail(who, "tensor name '", name, "' is not valid UTF-8");
    if (!seen.insert(name).second) fail(who, "duplicate tensor name '", name, "'");
  }
  for (const auto& [k, v] : metadata) {
    if (!json::valid_utf8(k) || !json::valid_utf8(v))
      fail(who, "metadata entry '", k, "' is not valid UTF-8");
  }

  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int ra = layout_rank(tensors[a].second.dtype()), rb = layout_rank(tensors[b].second.dtype());
    return ra != rb ? ra < rb : tensors[a].first < tensors[b].first;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) header += ',';
      first = false;
      json::append_quoted(header, k);
      header += ':';
      json::append_quoted(header, v);
    }
    header += "},";
  }
  uint64_t offset = 0;
  for (size_t i : order) {
    const Tensor& t = tensors[i].second;
    uint64_t nbytes = uint64_t(t.numel()) * dtype_size(t.dtype());
    json::append_quoted(header, tensors[i].first);
    header += str_cat(":{\"dtype\":\"", dtype_code(t.dtype()), "\",\"shape\":[");
    for (int d = 0; d < t.dim(); ++d) header += str_cat(d ? "," : "", t.size(d));
    header += str_cat("],\"data_offsets\":[", offset, ",", offset + nbytes, "]},");
    offset += nbytes;
  }
  if (header.back() == ',') header.pop_back();
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');

  // Written to a temporary name and renamed, so a failed save never leaves a partial file.
  const std::string tmp = path + ".tmp";
  bool ok;
  {
    File out{std::fopen(tmp.c_str(), "wb")};
    if (!out.f) fail(who, "cannot open for writing: ", std::strerror(errno));
    uint64_t n = header.size();
    ok = std::fwrite(&n, 8, 1, out.f) == 1 && std::fwrite(header.data(), 1, n, out.f) == n;
    for (size_t k = 0; ok && k < order.size(); ++k) {
      const Tensor& t = tensors[order[k]].second;
      if (t.numel() == 0) continue;
      Tensor host = t.detach().to(Device::cpu()).contiguous();
      size_t nbytes = size_t(host.numel()) * dtype_size(host.dtype());
      ok = std::fwrite(host.raw_data(), 1, nbytes, out.f) == nbytes;
    }
    ok = ok && std::fflush(out.f) == 0;
    ok = std::fclose(out.f) == 0 && ok;
    out.f = nullptr;
  }
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    fail(who, "write failed");
  }
}

namespace {

// One header member -> Entry; throws naming the tensor on any missing or malformed key.
Entry parse_entry(const std::string& who, const std::string& name, const json::Value& v) {
  const std::string where = str_cat(who, "tensor '", name, "': ");
  if (!v.is_object()) fail(where, "expected an object, got ", json::kind_name(v.kind));
  const json::Value *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (const auto& [key, val] : v.members) {
    const json::Value** slot = key == "dtype" ? &dtype : key == "shape" ? &shape
                             : key == "data_offsets" ? &offsets : nullptr;
    if (!slot) fail(where, "unexpected key '", key, "'");
    if (*slot) fail(where, "duplicate key '", key, "'");
    *slot = &val;
  }
  if (!dtype) fail(where, "missing key 'dtype'");
  if (!shape) fail(where, "missing key 'shape'");
  if (!offsets) fail(where, "missing key 'data_offsets'");

  Entry e;
  e.name = name;
  if (!dtype->is_string()) fail(where, "'dtype' must be a string");
  e.code = dtype->str;
  if (e.code == "F16" || e.code == "BF16")
    e.half = e.code == "F16" ? Half::F16 : Half::BF16;
  else if (!parse_dtype_code(e.code, &e.dtype))
    fail(where, "unsupported dtype '", e.code, "' (supported: BOOL, U8, I32, I64, F16, BF16, F32, F64)");
  if (!shape->is_array()) fail(where, "'shape' must be an array");
  if (shape->items.size() > size_t(kMaxDims))
    fail(where, "shape has ", shape->items.size(), " dims, more than the ", kMaxDims, " supported");
  for (const auto& d : shape->items) {
    if (!d.is_integer() || d.integer < 0) fail(where, "'shape' must hold non-negative integers");
    e.shape.push_back(d.integer);
  }
  if (!offsets->is_array() || offsets->items.size() != 2 || !offsets->items[0].is_integer() ||
      !offsets->items[1].is_integer() || offsets->items[0].integer < 0 || offsets->items[1].integer < 0)
    fail(where, "'data_offsets' must be two non-negative integers [begin, end]");
  e.begin = uint64_t(offsets->items[0].integer);
  e.end = uint64_t(offsets->items[1].integer);
  if (e.begin > e.end) fail(where, "data_offsets [", e.begin, ", ", e.end, "] end before they begin");

  uint64_t nbytes = e.half != Half::None ? 2 : dtype_size(e.dtype);
  bool has_zero = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
  for (int64_t d : e.shape) {
    if (has_zero) { nbytes = 0; break; }
    if (nbytes > uint64_t(INT64_MAX) / uint64_t(d)) fail(where, "shape ", e.shape, " is too large");
    nbytes *= uint64_t(d);
  }
  if (e.end - e.begin != nbytes)
    fail(where, "shape ", e.shape, " of ", e.code, " needs ", nbytes,
         " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin);
  return e;
}

}  // namespace

NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  const std::string who = str_cat("load_safetensors: ", path, ": ");
  File in{std::fopen(path.c_str(), "rb")};
  if (!in.f) fail(who, "cannot open file: ", std::strerror(errno));
  if (fseeko(in.f, 0, SEEK_END) != 0) fail(who, "cannot seek: ", std::strerror(errno));
  off_t file_size = ftello(in.f);
  if (file_size < 0) fail(who, "cannot tell the file size: ", std::strerror(errno));
  std::rewind(in.f);
  uint64_t size = uint64_t(file_size);
  if (size < 8) fail(who, "file is ", size, " bytes, too short for the 8-byte header length");

  uint64_t n = 0;
  if (std::fread(&n, 8, 1, in.f) != 1) fail(who, "read error in the header length");
  if (n > kMaxHeader) fail(who, "header length ", n, " is larger than the 100 MB limit");
  if (n > size - 8) fail(who, "header length ", n, " is larger than the ", size - 8, " bytes after it");
  std::string text(n, '\0');
  if (n > 0 && std::fread(text.data(), 1, n, in.f) != n) fail(who, "read error in the header");
  if (n == 0 || text[0] != '{') fail(who, "header does not start with '{'");
  json::Value root = json::parse(text, who + "header");
  if (!root.is_object()) fail(who, "header must be a JSON object");

  // ---- the header: metadata and entries ----
  std::map<std::string, std::string> meta;
  std::vector<Entry> entries;
  std::set<std::string> names;
  bool have_meta = false;
  for (const auto& [key, val] : root.members) {
    if (key == "__metadata__") {
      if (have_meta) fail(who, "duplicate key '__metadata__'");
      have_meta = true;
      if (!val.is_object()) fail(who, "'__metadata__' must be an object of strings");
      for (const auto& [k, v] : val.members) {
        if (!v.is_string()) fail(who, "metadata '", k, "' must be a string, got ", json::kind_name(v.kind));
        if (!meta.emplace(k, v.str).second) fail(who, "duplicate metadata key '", k, "'");
      }
      continue;
    }
    if (!names.insert(key).second) fail(who, "duplicate tensor name '", key, "'");
    entries.push_back(parse_entry(who, key, val));
  }

  // ---- the offsets must tile the data section exactly: no overlap, no hole, nothing after ----
  const uint64_t data_size = size - 8 - n;
  for (const Entry& e : entries) {
    if (e.end > data_size)
      fail(who, "tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
           "] are out of range: the data section has ", data_size, " bytes");
  }
  std::vector<size_t> by_offset(entries.size());
  for (size_t i = 0; i < by_offset.size(); ++i) by_offset[i] = i;
  std::stable_sort(by_offset.begin(), by_offset.end(), [&](size_t a, size_t b) {
    return entries[a].begin != entries[b].begin ? entries[a].begin < entries[b].begin
                                                : entries[a].end < entries[b].end;
  });
  uint64_t expected = 0;
  const Entry* prev = nullptr;
  for (size_t i : by_offset) {
    const Entry& e = entries[i];
    if (e.begin < expected)
      fail(who, "tensors '", prev->name, "' [", prev->begin, ", ", prev->end, "] and '", e.name, "' [",
           e.begin, ", ", e.end, "] overlap");
    if (e.begin > expected)
      fail(who, "a hole of ", e.begin - expected, " bytes before tensor '", e.name, "' at offset ", e.begin);
    expected = e.end;
    prev = &e;
  }
  if (expected != data_size)
    fail(who, data_size - expected, " bytes after the last tensor are not covered by any data_offsets");

  // ---- the data, read straight into the tensors in offset order ----
  std::vector<Tensor> out(entries.size());
  for (size_t i : by_offset) {
    const Entry& e = entries[i];
    out[i] = empty(e.shape, Options(e.dtype));
    size_t nbytes = size_t(e.end - e.begin);
    if (e.half != Half::None) {
      std::vector<uint16_t> h(nbytes / 2);
      if (nbytes > 0 && std::fread(h.data(), 1, nbytes, in.f) != nbytes)
        fail(who, "read error in the data of tensor '", e.name, "'");
      float* f = static_cast<float*>(out[i].raw_data());
      for (size_t k = 0; k < h.size(); ++k) f[k] = e.half == Half::F16 ? f16_to_f32(h[k]) : bf16_to_f32(h[k]);
      continue;
    }
    if (nbytes > 0 && std::fread(out[i].raw_data(), 1, nbytes, in.f) != nbytes)
      fail(who, "read error in the data of tensor '", e.name, "'");
    if (e.dtype == kBool) {
      const auto* p = static_cast<const unsigned char*>(out[i].raw_data());
      for (size_t k = 0; k < nbytes; ++k) {
        if (p[k] > 1) fail(who, "tensor '", e.name, "': BOOL element ", k, " holds byte ", int(p[k]), " (not 0 or 1)");
      }
    }
  }

  NamedTensors result;
  result.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) result.emplace_back(entries[i].name, out[i]);
  if (metadata) *metadata = std::move(meta);
  return result;
}

}  // namespace tapeflow::data
