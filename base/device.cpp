// Device parsing and printing.
#include "base/device.h"

#include <ostream>

#include "base/error.h"

namespace tapeflow {

Device::Device(const std::string& spec) {
  auto bad = [&] { fail("Device: cannot parse '", spec, "' (expected \"cpu\", \"cuda\" or \"cuda:N\")"); };
  if (spec == "cpu") { kind = Kind::CPU; index = 0; return; }
  if (spec.rfind("cuda", 0) != 0) bad();
  kind = Kind::CUDA;
  index = 0;
  if (spec.size() == 4) return;
  if (spec[4] != ':' || spec.size() == 5 || spec.size() > 9) bad();
  int v = 0;
  for (size_t i = 5; i < spec.size(); ++i) {
    if (spec[i] < '0' || spec[i] > '9') bad();
    v = v * 10 + (spec[i] - '0');
  }
  index = v;
}

std::string Device::str() const {
  return kind == Kind::CPU ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace tapeflow
