// TFRecord framing (masked CRC-32C) and protobuf wire-format primitives for the summary writer.
#include "tensorboard/record.h"

#include <array>
#include <bit>
#include <cstring>

namespace tapeflow::tensorboard {
namespace {

static_assert(std::endian::native == std::endian::little, "event files are little-endian");

// Byte-wise table for the reflected Castagnoli polynomial 0x82F63B78.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = make_table();

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string frame_record(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  uint64_t len = data.size();
  char len_bytes[8];
  std::memcpy(len_bytes, &len, 8);
  uint32_t len_crc = masked_crc32c(len_bytes, 8), data_crc = masked_crc32c(data.data(), data.size());
  out.append(len_bytes, 8);
  out.append(reinterpret_cast<const char*>(&len_crc), 4);
  out.append(data);
  out.append(reinterpret_cast<const char*>(&data_crc), 4);
  return out;
}

void ProtoWriter::varint(uint64_t v) {
  while (v >= 0x80) {
    buf_ += char(uint8_t(v) | 0x80);
    v >>= 7;
  }
  buf_ += char(uint8_t(v));
}

void ProtoWriter::tag(int field, int wire_type) { varint((uint64_t(field) << 3) | uint64_t(wire_type)); }

void ProtoWriter::fixed64(uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  buf_.append(b, 8);
}

void ProtoWriter::varint_field(int field, uint64_t v) {
  tag(field, 0);
  varint(v);
}

void ProtoWriter::double_field(int field, double v) {
  tag(field, 1);
  fixed64(std::bit_cast<uint64_t>(v));
}

void ProtoWriter::float_field(int field, float v) {
  tag(field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  buf_.append(b, 4);
}

void ProtoWriter::bytes_field(int field, std::string_view s) {
  tag(field, 2);
  varint(s.size());
  buf_.append(s);
}

void ProtoWriter::packed_doubles(int field, const std::vector<double>& v) {
  tag(field, 2);
  varint(uint64_t(v.size()) * 8);
  for (double d : v) fixed64(std::bit_cast<uint64_t>(d));
}

}  // namespace tapeflow::tensorboard
