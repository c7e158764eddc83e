// pad (PyTorch's F.pad): constant padding as a concat with filled blocks (negative amounts
// crop by slicing), reflect / replicate / circular as an index_select along each padded dim.
// Built from public differentiable ops, so the gradient (and its gradient) comes with them.
#include <vector>

#include "autograd/trace.h"
#include "tensor/conv_ops.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using namespace detail;

namespace {

Tensor pad_constant_dim(const Tensor& x, int d, int64_t lo, int64_t hi, double value) {
  Tensor y = x;
  const int64_t n = y.shape()[d];
  if (lo < 0 || hi < 0) y = y.slice(d, lo < 0 ? -lo : 0, hi < 0 ? n + hi : n);
  std::vector<Tensor> parts;
  auto block = [&](int64_t len) {
    Shape s = y.shape();
    s[d] = len;
    return full(s, value, Options(y.dtype(), y.device()));
  };
  if (lo > 0) parts.push_back(block(lo));
  parts.push_back(y);
  if (hi > 0) parts.push_back(block(hi));
  return parts.size() == 1 ? y : concat(parts, d);
}

// Source index of padded position t in [-lo, n + hi).
int64_t source_index(const std::string& mode, int64_t t, int64_t n) {
  if (mode == "reflect") {
    if (t < 0) return -t;
    if (t >= n) return 2 * (n - 1) - t;
    return t;
  }
  if (mode == "replicate") return t < 0 ? 0 : (t >= n ? n - 1 : t);
  return ((t % n) + n) % n;  // circular
}

Tensor pad_impl(const Tensor& input, const std::vector<int64_t>& amounts, const std::string& mode, double value) {
  const char* op = "pad";
  check_defined(op, input);
  const bool constant = mode == "constant";
  if (!constant && mode != "reflect" && mode != "replicate" && mode != "circular")
    fail(op, ": mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got \"", mode, "\"");
  if (amounts.size() % 2 != 0) fail(op, ": the padding list must have an even length, got ", amounts.size());
  const int np = int(amounts.size() / 2);
  if (np > input.dim())
    fail(op, ": the padding list of length ", amounts.size(), " pads ", np, " dims, but the input of shape ",
         input.shape(), " has only ", input.dim());
  Tensor y = input;
  for (int k = 0; k < np; ++k) {
    const int d = input.dim() - 1 - k;
    const int64_t lo = amounts[size_t(2 * k)], hi = amounts[size_t(2 * k + 1)], n = input.shape()[d];
    if (constant) {
      if (n + lo + hi < 0)
        fail(op, ": padding (", lo, ", ", hi, ") of dim ", d, " leaves a negative size for the input of shape ",
             input.shape());
      if (lo != 0 || hi != 0) y = pad_constant_dim(y, d, lo, hi, value);
      continue;
    }
    if (lo < 0 || hi < 0)
      fail(op, ": mode \"", mode, "\" needs non-negative padding, got (", lo, ", ", hi, ") for dim ", d);
    if (lo == 0 && hi == 0) continue;
    if (mode == "reflect" && (lo >= n || hi >= n))
      fail(op, ": reflect padding (", lo, ", ", hi, ") must be smaller than the size ", n, " of dim ", d,
           " (input shape ", input.shape(), ")");
    if (mode == "replicate" && n < 1)
      fail(op, ": replicate padding of the empty dim ", d, " (input shape ", input.shape(), ")");
    if (mode == "circular" && (lo > n || hi > n))
      fail(op, ": circular padding (", lo, ", ", hi, ") must be at most the size ", n, " of dim ", d,
           " (input shape ", input.shape(), ")");
    std::vector<int64_t> idx;
    idx.reserve(size_t(n + lo + hi));
    for (int64_t t = -lo; t < n + hi; ++t) idx.push_back(source_index(mode, t, n));
    y = index_select(y, d, from_vector(idx).to(input.device()));
  }
  return y;
}

}  // namespace

// Reports itself to a tracer (autograd/trace.h) as one "pad" with ONNX's pads (begins of every
// dim, then ends), mode (0 constant, 1 reflect, 2 replicate, 3 circular) and value.
Tensor pad(const Tensor& input, const std::vector<int64_t>& amounts, const std::string& mode, double value) {
  const bool tr = autograd::tracing();
  Tensor y;
  {
    autograd::TraceGuard off(nullptr);
    y = pad_impl(input, amounts, mode, value);
  }
  if (tr) {
    const int r = input.dim();
    std::vector<int64_t> pads(size_t(2 * r), 0);
    for (size_t k = 0; 2 * k + 1 < amounts.size(); ++k) {
      const size_t d = size_t(r - 1) - k;
      pads[d] = amounts[2 * k];
      pads[d + size_t(r)] = amounts[2 * k + 1];
    }
    const int64_t m = mode == "constant" ? 0 : mode == "reflect" ? 1 : mode == "replicate" ? 2 : 3;
    autograd::trace("pad", {input}, y, {{"pads", pads}, {"mode", {m}}, {"value", {}, value}});
  }
  return y;
}

}  // namespace tapeflow
