// Internal: the ONNX project's protobuf classes (Debian's libonnx-dev, built with ONNX_ML) and
// the conversions between them and tapeflow tensors. Not part of the public API.
#pragma once
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <string>

#include "tensor/tensor.h"

namespace tapeflow::onnx::detail {

// ONNX's TensorProto.DataType code of a tapeflow dtype.
int onnx_dtype(DType t);
// The tapeflow dtype of an ONNX data type code; throws naming `what` for types tapeflow lacks.
DType tapeflow_dtype(int onnx_type, const std::string& what);
const char* onnx_dtype_name(int onnx_type);

// Fills `out` (dims, data_type, raw_data) from t's values.
void to_proto(const Tensor& t, ::onnx::TensorProto& out);
// A CPU tensor from an initializer or Constant value; checks that the data matches the shape
// (raw_data or the typed repeated fields) and throws naming `what` otherwise.
Tensor from_proto(const ::onnx::TensorProto& p, const std::string& what);

}  // namespace tapeflow::onnx::detail
