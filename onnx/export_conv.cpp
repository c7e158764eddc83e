// ONNX export of the conv family (autograd/conv.cpp, pool.cpp, pad.cpp, norm.cpp report one
// traced op each): Conv, ConvTranspose, MaxPool, AveragePool, Pad and BatchNormalization
// (inference form, with the running statistics). Unbatched inputs get an Unsqueeze / Squeeze.
#include "onnx/exporter.h"
#include "tensor/creation.h"
#include "base/error.h"

namespace tapeflow::onnx::detail {

using autograd::TraceOp;

namespace export_conv {  // named: a unity build shares one anonymous namespace between sources

const std::vector<int64_t>& ints(const TraceOp& op, const char* name) {
  const autograd::TraceAttr* a = op.attr(name);
  if (!a) fail("onnx export: op '", op.op, "' was traced without its '", name, "' attribute (a tapeflow bug)");
  return a->ints;
}

// A windowed op on a (N, C, spatial...) input: x's name, batched (an unbatched input gets a
// batch dim of 1 first, taken off again by `finish`).
struct Windowed {
  std::string x;
  bool unbatched = false;
  int out_batch = -1;
};

Windowed windowed_input(Exporter& ex, const TraceOp& op, DType dt) {
  const Tensor& x = op.inputs[0];
  const int nsp = (int)ints(op, "nsp").at(0);
  Windowed w;
  w.x = ex.in(x, dt);
  if (x.dim() == nsp + 1) {
    w.unbatched = true;
    w.x = ex.out(ex.node("Unsqueeze", {w.x, ex.ints({0})}));
  } else {
    w.out_batch = ex.batch_dim(x) == 0 ? 0 : -1;
    if (ex.batch_dim(x) > 0) ex.unsupported(op, "the batch dim must be dim 0 of the input");
  }
  return w;
}

std::string finish(Exporter& ex, const Windowed& w, const std::string& y) {
  return w.unbatched ? ex.out(ex.node("Squeeze", {y, ex.ints({0})})) : y;
}

std::string conv(Exporter& ex, const TraceOp& op, bool transpose, int& out_batch) {
  DType dt = op.output.dtype();
  Windowed w = windowed_input(ex, op, dt);
  const Tensor& weight = op.inputs[1];
  std::vector<std::string> ins{w.x, ex.in(weight, dt)};
  if (op.inputs.size() > 2) ins.push_back(ex.in(op.inputs[2], dt));
  auto& n = ex.node(transpose ? "ConvTranspose" : "Conv", ins);
  attr_ints(n, "kernel_shape", std::vector<int64_t>(weight.shape().begin() + 2, weight.shape().end()));
  attr_ints(n, "strides", ints(op, "strides"));
  attr_ints(n, "pads", ints(op, "pads"));
  attr_ints(n, "dilations", ints(op, "dilations"));
  attr_int(n, "group", ints(op, "group").at(0));
  if (transpose) attr_ints(n, "output_padding", ints(op, "output_padding"));
  out_batch = w.out_batch;
  return finish(ex, w, ex.out(n));
}

// PyTorch's pooling geometry: ceil_mode is exported as extra end padding (exact for max pooling
// and for average pooling that leaves the padding out of the count).
std::string pool(Exporter& ex, const TraceOp& op, bool is_max, int& out_batch) {
  DType dt = op.output.dtype();
  const Tensor& x = op.inputs[0];
  const int nsp = (int)ints(op, "nsp").at(0);
  const auto& k = ints(op, "kernel_shape");
  const auto& s = ints(op, "strides");
  const auto& d = ints(op, "dilations");
  std::vector<int64_t> pads = ints(op, "pads");
  const bool incl = ints(op, "count_include_pad").at(0) != 0;
  for (int i = 0; i < nsp; ++i) {
    const int64_t in = x.size(x.dim() - nsp + i), out = op.output.size(op.output.dim() - nsp + i);
    const int64_t span = in + pads[size_t(i)] + pads[size_t(i + nsp)] - d[size_t(i)] * (k[size_t(i)] - 1) - 1;
    const int64_t floor_out = span / s[size_t(i)] + 1;
    if (out == floor_out) continue;
    if (!is_max && incl)
      ex.unsupported(op, "average pooling with ceil_mode and count_include_pad has no exact ONNX form");
    pads[size_t(i + nsp)] += (out - 1) * s[size_t(i)] - span;  // the last window ends inside the new padding
  }
  Windowed w = windowed_input(ex, op, dt);
  auto& n = ex.node(is_max ? "MaxPool" : "AveragePool", {w.x});
  attr_ints(n, "kernel_shape", k);
  attr_ints(n, "strides", s);
  attr_ints(n, "pads", pads);
  if (is_max) attr_ints(n, "dilations", d);
  else attr_int(n, "count_include_pad", incl);
  out_batch = w.out_batch;
  return finish(ex, w, ex.out(n));
}

std::string pad(Exporter& ex, const TraceOp& op, int& out_batch) {
  DType dt = op.output.dtype();
  const Tensor& x = op.inputs[0];
  const auto& pads = ints(op, "pads");
  static const char* modes[] = {"constant", "reflect", "edge"};
  const int64_t m = ints(op, "mode").at(0);
  if (m < 0 || m > 2) ex.unsupported(op, "circular padding has no ONNX form before opset 19");
  std::vector<std::string> ins{ex.in(x, dt), ex.ints(pads)};
  if (m == 0) ins.push_back(ex.scalar(op.attr("value")->f, dt));
  auto& n = ex.node("Pad", ins);
  attr_string(n, "mode", modes[m]);
  const int b = ex.batch_dim(x);
  out_batch = b >= 0 && pads[size_t(b)] == 0 && pads[size_t(b + x.dim())] == 0 ? b : -1;
  return ex.out(n);
}

std::string batch_norm(Exporter& ex, const TraceOp& op, int& out_batch) {
  if (ints(op, "training").at(0))
    ex.unsupported(op, "batch norm in training mode (batch statistics) has no inference form; use eval mode");
  if (!ints(op, "has_stats").at(0)) ex.unsupported(op, "batch norm without running statistics");
  DType dt = op.output.dtype();
  const Tensor& x = op.inputs[0];
  const int64_t C = x.size(1);
  size_t i = 3;
  auto param = [&](const char* has, double fill) {
    if (ints(op, has).at(0)) return ex.in(op.inputs.at(i++), dt);
    return ex.constant(full({C}, fill, Options(dt)));
  };
  std::string scale = param("has_weight", 1.0);
  std::string bias = param("has_bias", 0.0);
  auto& n = ex.node("BatchNormalization",
                    {ex.in(x, dt), scale, bias, ex.in(op.inputs[1], dt), ex.in(op.inputs[2], dt)});
  attr_float(n, "epsilon", op.attr("epsilon")->f);
  out_batch = ex.batch_dim(x);
  return ex.out(n);
}

}  // namespace export_conv

bool emit_conv(Exporter& ex, const TraceOp& op, std::string& name, int& out_batch) {
  namespace x = export_conv;
  const std::string& n = op.op;
  if (n == "conv" || n == "conv_transpose") name = x::conv(ex, op, n == "conv_transpose", out_batch);
  else if (n == "max_pool" || n == "avg_pool") name = x::pool(ex, op, n == "max_pool", out_batch);
  else if (n == "pad") name = x::pad(ex, op, out_batch);
  else if (n == "batch_norm") name = x::batch_norm(ex, op, out_batch);
  else return false;
  return true;
}

}  // namespace tapeflow::onnx::detail
