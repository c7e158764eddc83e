// Device: a small value type {kind, index}, printable and parseable ("cpu", "cuda:0").
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

namespace tapeflow {

struct Device {
  enum class Kind : uint8_t { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  Device() = default;
  constexpr Device(Kind k, int i) : kind(k), index(i) {}
  Device(const std::string& spec);  // "cpu", "cuda", "cuda:1"; throws on anything else
  Device(const char* spec) : Device(std::string(spec)) {}

  static constexpr Device cpu() { return Device(Kind::CPU, 0); }
  static constexpr Device cuda(int i = 0) { return Device(Kind::CUDA, i); }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  std::string str() const;
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};
std::ostream& operator<<(std::ostream& os, const Device& d);

}  // namespace tapeflow
