// DType names, parsing and promotion.
#include "base/dtype.h"

#include <ostream>

#include "base/error.h"

namespace tapeflow {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (name == dtype_name(static_cast<DType>(i))) return static_cast<DType>(i);
  fail("parse_dtype: unknown dtype '", name, "' (valid: bool, uint8, int32, int64, float32, float64)");
}

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  // The enum is ordered bool < uint8 < int32 < int64 < float32 < float64, which is exactly
  // the promotion lattice for these six types (uint8 with a wider signed int gives the int).
  return static_cast<uint8_t>(a) > static_cast<uint8_t>(b) ? a : b;
}

}  // namespace tapeflow
