// The TFRecord framing of TensorBoard event files and the few protobuf encoding primitives the
// summary writer needs (varints, fixed 32/64-bit numbers, length-delimited fields). Exposed for
// tests and for tools that write their own records; the field numbers live in summary_writer.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tapeflow::tensorboard {

// CRC-32C (Castagnoli), as TFRecord uses: crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t n);
// TFRecord's masked form: rotate right by 15, then add 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t n);
// One record: uint64 length (LE), masked crc of those 8 bytes, the data, masked crc of the data.
std::string frame_record(std::string_view data);

// Appends protobuf wire-format fields to a byte string (proto3: fields are written as given, in
// the order the caller writes them; readers accept any order).
class ProtoWriter {
 public:
  void varint_field(int field, uint64_t v);
  void int64_field(int field, int64_t v) { varint_field(field, uint64_t(v)); }  // two's complement
  void double_field(int field, double v);
  void float_field(int field, float v);
  void bytes_field(int field, std::string_view s);  // also strings and sub-messages
  void message_field(int field, const ProtoWriter& m) { bytes_field(field, m.bytes()); }
  void packed_doubles(int field, const std::vector<double>& v);
  const std::string& bytes() const { return buf_; }

 private:
  void tag(int field, int wire_type);
  void varint(uint64_t v);
  void fixed64(uint64_t v);
  std::string buf_;
};

}  // namespace tapeflow::tensorboard
