// Tensor <-> TensorProto conversions and the dtype table (ONNX's TensorProto.DataType codes).
#include "onnx/proto.h"

#include <cstring>
#include <vector>

#include "tensor/creation.h"
#include "base/error.h"

namespace tapeflow::onnx::detail {

using TP = ::onnx::TensorProto;

int onnx_dtype(DType t) {
  switch (t) {
    case kFloat32: return TP::FLOAT;
    case kFloat64: return TP::DOUBLE;
    case kInt32: return TP::INT32;
    case kInt64: return TP::INT64;
    case kUInt8: return TP::UINT8;
    case kBool: return TP::BOOL;
  }
  return TP::UNDEFINED;
}

const char* onnx_dtype_name(int t) {
  if (TP::DataType_IsValid(t)) {
    static std::string names[32];
    std::string& n = names[t & 31];
    if (n.empty()) n = TP::DataType_Name(static_cast<TP::DataType>(t));
    return n.c_str();
  }
  return "an unknown data type";
}

DType tapeflow_dtype(int t, const std::string& what) {
  switch (t) {
    case TP::FLOAT: return kFloat32;
    case TP::DOUBLE: return kFloat64;
    case TP::INT32: return kInt32;
    case TP::INT64: return kInt64;
    case TP::UINT8: return kUInt8;
    case TP::BOOL: return kBool;
    default:
      fail(what, ": data type ", t, " (", onnx_dtype_name(t),
           ") is not supported (tapeflow has FLOAT, DOUBLE, INT32, INT64, UINT8, BOOL)");
  }
}

void to_proto(const Tensor& t, TP& out) {
  Tensor c = t.detach().to(Device::cpu()).contiguous();
  out.clear_dims();
  for (int64_t d : c.shape()) out.add_dims(d);
  out.set_data_type(onnx_dtype(c.dtype()));
  out.set_raw_data(std::string(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype())));
}

namespace {
template <class Dst, class Field>
Tensor from_field(const Field& f, const Shape& shape, DType dt) {
  std::vector<Dst> v(f.begin(), f.end());
  return from_blob_copy(v.data(), shape, dt);
}
}  // namespace

Tensor from_proto(const TP& p, const std::string& what) {
  if (p.has_data_location() && p.data_location() == TP::EXTERNAL)
    fail(what, ": external data (a separate weights file) is not supported");
  DType dt = tapeflow_dtype(p.data_type(), what);
  Shape shape;
  int64_t n = 1;
  for (int64_t d : p.dims()) {
    if (d < 0) fail(what, ": negative dim ", d, " in its shape");
    if (d > 0 && n > (int64_t(1) << 40) / d) fail(what, ": shape is too large");
    n *= d;
    shape.push_back(d);
  }
  size_t esize = dtype_size(dt);
  std::string shape_str = str_cat(shape);
  if (p.has_raw_data()) {
    if (p.raw_data().size() != (size_t)n * esize)
      fail(what, ": shape ", shape_str, " needs ", (size_t)n * esize, " bytes of ", dtype_name(dt),
           " data, raw_data has ", p.raw_data().size());
    if (dt == kBool)
      for (char c : p.raw_data())
        if (c != 0 && c != 1) fail(what, ": BOOL data holds a byte other than 0 or 1");
    return from_blob_copy(p.raw_data().data(), shape, dt);
  }
  int64_t have = 0;
  switch (dt) {
    case kFloat32: have = p.float_data_size(); break;
    case kFloat64: have = p.double_data_size(); break;
    case kInt64: have = p.int64_data_size(); break;
    default: have = p.int32_data_size(); break;
  }
  if (have != n)
    fail(what, ": shape ", shape_str, " needs ", n, " ", dtype_name(dt), " values, the tensor holds ", have);
  switch (dt) {
    case kFloat32: return from_field<float>(p.float_data(), shape, dt);
    case kFloat64: return from_field<double>(p.double_data(), shape, dt);
    case kInt64: return from_field<int64_t>(p.int64_data(), shape, dt);
    case kInt32: return from_field<int32_t>(p.int32_data(), shape, dt);
    case kUInt8: return from_field<uint8_t>(p.int32_data(), shape, dt);
    case kBool: return from_field<uint8_t>(p.int32_data(), shape, dt);  // one byte, 0 or 1
  }
  fail(what, ": unreachable dtype");
}

}  // namespace tapeflow::onnx::detail
