// Internal: element-wise forwards without recording (promotion, broadcasting, backend call).
#pragma once
#include "tensor/internal.h"

namespace tapeflow::detail {

Tensor unary_raw(backend::UnaryOp op, const Tensor& x, double alpha = 0, double beta = 0);
Tensor binary_raw(backend::BinaryOp op, const char* name, const Tensor& a, const Tensor& b);
Shape broadcast_or_fail(const char* op, const Shape& a, const Shape& b);

}  // namespace tapeflow::detail
