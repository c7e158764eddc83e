// ONNX import of the conv family (opsets 11 to 17): Conv, ConvTranspose, MaxPool, AveragePool,
// GlobalAveragePool, GlobalMaxPool, BatchNormalization (inference form) and Pad, each run with
// tapeflow's differentiable ops (tensor/conv_ops.h, nn_ops.h) so an imported CNN fine-tunes.
// What tapeflow's ops do not take directly is rewritten: asymmetric or auto_pad padding as an
// explicit pad before the op (ConvTranspose: a crop after it), average pooling that leaves the
// padding out of the count as a ratio of two poolings.
#include <cmath>
#include <limits>
#include <map>

#include "onnx/graph.h"
#include "tensor/conv_ops.h"
#include "tensor/creation.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"
#include "base/error.h"

namespace tapeflow::onnx::detail {

namespace import_conv {  // named: a unity build shares one anonymous namespace between sources

using Ins = std::vector<Tensor>;
using Outs = std::vector<Tensor>;

const Tensor& arg(const Ins& in, size_t i, const char* what) {
  if (i >= in.size() || !in[i].defined()) fail("input ", i, " (", what, ") is missing");
  return in[i];
}

std::string list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Limits against malformed or hostile files: attribute values and non-empty tensors (so the size
// arithmetic cannot overflow: a non-empty tensor's dims are far below 2^40) and the elements of a
// tensor a node makes (its output, padded input or im2col).
constexpr int64_t kMaxAttr = int64_t(1) << 20;
constexpr int64_t kMaxElements = int64_t(1) << 27;

void check_range(const char* name, const std::vector<int64_t>& v) {
  for (int64_t x : v)
    if (x > kMaxAttr || x < -kMaxAttr) fail(name, " ", list(v), " has a value beyond +-2^20");
}

// Fails when a tensor of these dims would exceed kMaxElements (dims checked one by one, so the
// product cannot overflow).
void check_elements(const char* what, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d <= 0) return;  // empty or invalid: the op reports it
    if (n > kMaxElements / d)
      fail(what, " of shape ", list(dims), " would exceed the importer's limit of 2^27 elements per tensor",
           " (split the batch)");
    n *= d;
  }
}

// A per-spatial-dim attribute (strides, dilations, kernel_shape): `n` values, default `dflt`.
std::vector<int64_t> spatial_attr(const OpNode& node, const char* name, size_t n, int64_t dflt) {
  const std::vector<int64_t>* a = node.getints(name);
  if (!a) return std::vector<int64_t>(n, dflt);
  if (a->size() != n)
    fail(name, " ", list(*a), " has ", a->size(), " values, expected ", n, " (one per spatial dim)");
  for (int64_t v : *a)
    if (v < 1) fail(name, " ", list(*a), " must be positive");
  check_range(name, *a);
  return *a;
}

// (N, C, spatial...) sizes of a windowed op: the padded input and the output (windows).
std::vector<int64_t> padded_dims(const Tensor& x, int64_t c, const std::vector<int64_t>& lo,
                                 const std::vector<int64_t>& hi) {
  std::vector<int64_t> v{x.size(0), c};
  for (size_t i = 0; i < lo.size(); ++i) v.push_back(x.size(int(2 + i)) + lo[i] + hi[i]);
  return v;
}
std::vector<int64_t> window_dims(const std::vector<int64_t>& padded, int64_t c, const std::vector<int64_t>& k,
                                 const std::vector<int64_t>& s, const std::vector<int64_t>& d) {
  std::vector<int64_t> v{padded[0], c};
  for (size_t i = 0; i < k.size(); ++i) v.push_back((padded[2 + i] - d[i] * (k[i] - 1) - 1) / s[i] + 1);
  return v;
}

// The (begin, end) padding of each spatial dim, from pads or auto_pad (ONNX's SAME_* rule:
// output = ceil(input / stride); SAME_UPPER puts an odd extra at the end).
struct Pads {
  std::vector<int64_t> lo, hi;
  bool symmetric() const { return lo == hi; }
};

Pads pads_of(const OpNode& node, const Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
             const std::vector<int64_t>& d) {
  const size_t n = k.size();
  Pads p{std::vector<int64_t>(n, 0), std::vector<int64_t>(n, 0)};
  std::string mode = node.has("auto_pad") ? node.attrs.at("auto_pad").s : "NOTSET";
  if (mode == "NOTSET") {
    if (const std::vector<int64_t>* a = node.getints("pads")) {
      if (a->size() != 2 * n)
        fail("pads ", list(*a), " has ", a->size(), " values, expected ", 2 * n,
             " (begin and end of each of the ", n, " spatial dims; input shape ", x.shape(), ")");
      check_range("pads", *a);
      for (size_t i = 0; i < n; ++i) {
        p.lo[i] = (*a)[i];
        p.hi[i] = (*a)[i + n];
      }
    }
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      const int64_t in = x.size(int(2 + i)), out = (in + s[i] - 1) / s[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in);
      p.lo[i] = mode == "SAME_UPPER" ? total / 2 : total - total / 2;
      p.hi[i] = total - p.lo[i];
    }
  } else if (mode != "VALID") {
    fail("auto_pad '", mode, "' is not supported (NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
  }
  return p;
}

// pad's list (last dim first) for the spatial dims of an (N, C, spatial...) input.
std::vector<int64_t> pad_list(const Pads& p) {
  std::vector<int64_t> v;
  for (size_t i = p.lo.size(); i-- > 0;) {
    v.push_back(p.lo[i]);
    v.push_back(p.hi[i]);
  }
  return v;
}

void check_nonempty(const Tensor& t, const char* what) {
  if (t.numel() == 0) fail("an empty ", what, " of shape ", t.shape(), " is not supported");
}

// Checks an (N, C, spatial...) input against a 1-D or 2-D op; returns the spatial rank.
size_t check_windowed(const Tensor& x, size_t nsp, const char* what) {
  check_nonempty(x, "input");
  if (nsp < 1 || nsp > 2)
    fail(nsp, "-D ", what, " is not supported (1-D and 2-D only; input shape ", x.shape(), ")");
  if (x.dim() != int(nsp) + 2)
    fail("expected a ", nsp + 2, "-D input (N, C, spatial...) for a ", nsp, "-D ", what, ", got shape ", x.shape());
  return nsp;
}

Outs conv(const OpNode& node, const Ins& in, int64_t) {
  const Tensor &x = arg(in, 0, "X"), &w = arg(in, 1, "W");
  const Tensor b = in.size() > 2 ? in[2] : Tensor();
  if (w.dim() != x.dim()) fail("weight of shape ", w.shape(), " does not fit the input of shape ", x.shape());
  const size_t nsp = check_windowed(x, size_t(std::max(w.dim(), 3) - 2), "convolution");
  const int64_t g = node.geti("group", 1);
  if (g < 1 || g > kMaxAttr) fail("group must be in 1 to 2^20, got ", g);
  check_nonempty(w, "weight");
  if (x.size(1) % g != 0 || x.size(1) / g != w.size(1) || w.size(0) % g != 0)
    fail("weight of shape ", w.shape(), " with group ", g, " expects ", w.size(1) * g,
         " input channels (and output channels divisible by group), but the input of shape ", x.shape(), " has ",
         x.size(1));
  std::vector<int64_t> k(w.shape().begin() + 2, w.shape().end());
  if (const std::vector<int64_t>* ks = node.getints("kernel_shape"); ks && *ks != k)
    fail("kernel_shape ", list(*ks), " does not match the weight of shape ", w.shape());
  auto s = spatial_attr(node, "strides", nsp, 1), d = spatial_attr(node, "dilations", nsp, 1);
  Pads p = pads_of(node, x, k, s, d);
  Tensor xi = x;
  std::vector<int64_t> sym(nsp);
  for (size_t i = 0; i < nsp; ++i) {
    if (p.lo[i] < 0 || p.hi[i] < 0) fail("pads must be non-negative, got ", list(p.lo), " / ", list(p.hi));
    sym[i] = std::min(p.lo[i], p.hi[i]);
  }
  const std::vector<int64_t> padded = padded_dims(x, x.size(1), p.lo, p.hi);
  const std::vector<int64_t> out = window_dims(padded, w.size(0), k, s, d);
  check_elements("the padded input", padded);
  check_elements("the output", out);
  std::vector<int64_t> cols{x.size(0), x.size(1)};  // im2col: (N, C * prod(k), prod(out))
  for (size_t i = 0; i < nsp; ++i) cols.push_back(k[i]), cols.push_back(out[2 + i]);
  check_elements("the im2col buffer", cols);
  if (!p.symmetric()) {
    Pads extra = p;
    for (size_t i = 0; i < nsp; ++i) { extra.lo[i] -= sym[i]; extra.hi[i] -= sym[i]; }
    xi = tapeflow::pad(x, pad_list(extra));
  }
  if (nsp == 1) return {tapeflow::conv1d(xi, w, b, s[0], sym[0], d[0], g)};
  return {tapeflow::conv2d(xi, w, b, Size2(s[0], s[1]), ConvPadding(sym[0], sym[1]), Size2(d[0], d[1]), g)};
}

Outs conv_transpose(const OpNode& node, const Ins& in, int64_t) {
  const Tensor &x = arg(in, 0, "X"), &w = arg(in, 1, "W");
  const Tensor b = in.size() > 2 ? in[2] : Tensor();
  if (w.dim() != x.dim()) fail("weight of shape ", w.shape(), " does not fit the input of shape ", x.shape());
  const size_t nsp = check_windowed(x, size_t(std::max(w.dim(), 3) - 2), "transposed convolution");
  const int64_t g = node.geti("group", 1);
  if (g < 1 || g > kMaxAttr) fail("group must be in 1 to 2^20, got ", g);
  check_nonempty(w, "weight");
  if (w.size(0) != x.size(1) || x.size(1) % g != 0)
    fail("weight of shape ", w.shape(), " expects ", w.size(0), " input channels (divisible by group ", g,
         "), but the input of shape ", x.shape(), " has ", x.size(1));
  if (node.has("output_shape")) fail("the output_shape attribute is not supported (give pads instead)");
  std::string mode = node.has("auto_pad") ? node.attrs.at("auto_pad").s : "NOTSET";
  if (mode != "NOTSET" && mode != "VALID")
    fail("auto_pad '", mode, "' is not supported for ConvTranspose (NOTSET or VALID)");
  std::vector<int64_t> k(w.shape().begin() + 2, w.shape().end());
  if (const std::vector<int64_t>* ks = node.getints("kernel_shape"); ks && *ks != k)
    fail("kernel_shape ", list(*ks), " does not match the weight of shape ", w.shape());
  auto s = spatial_attr(node, "strides", nsp, 1), d = spatial_attr(node, "dilations", nsp, 1);
  std::vector<int64_t> op(nsp, 0);
  if (const std::vector<int64_t>* a = node.getints("output_padding")) {
    if (a->size() != nsp) fail("output_padding ", list(*a), " has ", a->size(), " values, expected ", nsp);
    check_range("output_padding", *a);
    op = *a;
  }
  Pads p = pads_of(node, x, k, s, d);
  std::vector<int64_t> full{x.size(0), w.size(1) * g}, cols{x.size(0), w.size(1) * g};  // before any crop
  for (size_t i = 0; i < nsp; ++i) {
    full.push_back((x.size(int(2 + i)) - 1) * s[i] + d[i] * (k[i] - 1) + op[i] + 1);
    cols.push_back(k[i]);
    cols.push_back(x.size(int(2 + i)));
  }
  check_elements("the output", full);
  check_elements("the col2im buffer", cols);
  for (size_t i = 0; i < nsp; ++i)
    if (p.lo[i] < 0 || p.hi[i] < 0) fail("pads must be non-negative, got ", list(p.lo), " / ", list(p.hi));
  // Symmetric pads go to the op; otherwise the full output is cropped.
  const bool sym = p.symmetric();
  Tensor y;
  if (nsp == 1)
    y = tapeflow::conv_transpose1d(x, w, b, s[0], sym ? p.lo[0] : 0, op[0], g, d[0]);
  else
    y = tapeflow::conv_transpose2d(x, w, b, Size2(s[0], s[1]), sym ? Size2(p.lo[0], p.lo[1]) : Size2(0, 0),
                         Size2(op[0], op[1]), g, Size2(d[0], d[1]));
  if (!sym)
    for (size_t i = 0; i < nsp; ++i) {
      const int dim = int(2 + i);
      if (p.lo[i] + p.hi[i] >= y.size(dim))
        fail("pads ", list(p.lo), " / ", list(p.hi), " leave no output (full output shape ", y.shape(), ")");
      y = y.slice(dim, p.lo[i], y.size(dim) - p.hi[i]);
    }
  return {y};
}

Outs pool(const OpNode& node, const Ins& in, bool is_max) {
  const Tensor& x = arg(in, 0, "X");
  const std::vector<int64_t>* ks = node.getints("kernel_shape");
  if (!ks) fail("the kernel_shape attribute is missing");
  const size_t nsp = check_windowed(x, ks->size(), is_max ? "max pooling" : "average pooling");
  if (is_max && node.outputs.size() > 1 && !node.outputs[1].empty()) fail("the Indices output is not supported");
  if (is_max && node.geti("storage_order", 0) != 0) fail("storage_order 1 is not supported");
  auto k = spatial_attr(node, "kernel_shape", nsp, 1), s = spatial_attr(node, "strides", nsp, 1);
  auto d = is_max ? spatial_attr(node, "dilations", nsp, 1) : std::vector<int64_t>(nsp, 1);
  const bool ceil_mode = node.geti("ceil_mode", 0) != 0;
  const bool incl = node.geti("count_include_pad", 0) != 0;
  Pads p = pads_of(node, x, k, s, d);
  bool native = p.symmetric();  // tapeflow pads symmetrically, at most half the kernel
  for (size_t i = 0; i < nsp; ++i) {
    if (p.lo[i] < 0 || p.hi[i] < 0) fail("pads must be non-negative, got ", list(p.lo), " / ", list(p.hi));
    if (p.lo[i] > k[i] / 2) native = false;
  }
  const std::vector<int64_t> padded = padded_dims(x, x.size(1), p.lo, p.hi);
  check_elements("the padded input", padded);
  check_elements("the output", window_dims(padded, x.size(1), k, s, d));
  if (!native && ceil_mode) fail("ceil_mode with asymmetric pads (or pads over half the kernel) is not supported");
  auto run = [&](const Tensor& t, const std::vector<int64_t>& pp, bool max, bool count_pad) {
    if (nsp == 1)
      return max ? tapeflow::max_pool1d(t, k[0], s[0], pp[0], d[0], ceil_mode)
                 : tapeflow::avg_pool1d(t, k[0], s[0], pp[0], ceil_mode, count_pad);
    return max ? tapeflow::max_pool2d(t, Size2(k[0], k[1]), Size2(s[0], s[1]), Size2(pp[0], pp[1]), Size2(d[0], d[1]), ceil_mode)
               : tapeflow::avg_pool2d(t, Size2(k[0], k[1]), Size2(s[0], s[1]), Size2(pp[0], pp[1]), ceil_mode, count_pad);
  };
  if (native) return {run(x, p.lo, is_max, incl)};
  const std::vector<int64_t> none(nsp, 0);
  if (is_max)
    return {run(tapeflow::pad(x, pad_list(p), "constant", -std::numeric_limits<double>::infinity()), none, true, false)};
  Tensor sum_avg = run(tapeflow::pad(x, pad_list(p)), none, false, true);
  if (incl) return {sum_avg};
  // Leave the padding out of the count: divide by the average of a padded mask of ones.
  Shape ms = x.shape();
  ms[0] = 1;
  ms[1] = 1;
  Tensor mask = tapeflow::pad(tapeflow::ones(ms, Options(x.dtype(), x.device())), pad_list(p));
  return {sum_avg / run(mask, none, false, true)};
}

Outs global_pool(const OpNode&, const Ins& in, bool is_max) {
  const Tensor& x = arg(in, 0, "X");
  if (x.dim() < 3) fail("expected an (N, C, spatial...) input, got shape ", x.shape());
  std::vector<int> axes;
  for (int i = 2; i < x.dim(); ++i) axes.push_back(i);
  return {is_max ? tapeflow::max(x, Axes(axes), true) : tapeflow::mean(x, Axes(axes), true)};
}

Outs batch_norm_op(const OpNode& node, const Ins& in, int64_t) {
  const Tensor& x = arg(in, 0, "X");
  const Tensor &scale = arg(in, 1, "scale"), &bias = arg(in, 2, "B");
  const Tensor &m = arg(in, 3, "input_mean"), &v = arg(in, 4, "input_var");
  if (node.geti("training_mode", 0) != 0) fail("training_mode 1 is not supported (inference form only)");
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) fail("the running_mean / running_var outputs (training form) are not supported");
  if (x.dim() < 2) fail("expected an (N, C, ...) input, got shape ", x.shape());
  return {tapeflow::batch_norm(x, m.detach(), v.detach(), scale, bias, false, 0.1, node.getf("epsilon", 1e-5))};
}

Outs pad_op(const OpNode& node, const Ins& in, int64_t opset) {
  const Tensor& x = arg(in, 0, "data");
  check_nonempty(x, "input");
  std::vector<int64_t> pads;
  double value = 0;
  if (opset >= 11) {
    Tensor p = arg(in, 1, "pads");
    pads = p.astype(kInt64).contiguous().to_vector<int64_t>();
    if (in.size() > 2 && in[2].defined()) {
      if (in[2].numel() != 1) fail("constant_value must be one value, got shape ", in[2].shape());
      value = in[2].astype(kFloat64).reshape({}).item<double>();
    }
    if (in.size() > 3 && in[3].defined()) fail("the axes input (opset 18) is not supported");
  } else {
    if (const std::vector<int64_t>* a = node.getints("pads")) pads = *a;
    value = node.getf("value", 0.0);
  }
  const size_t r = size_t(x.dim());
  if (pads.size() != 2 * r)
    fail("pads ", list(pads), " has ", pads.size(), " values, expected ", 2 * r,
         " (begin and end of each dim of the input of shape ", x.shape(), ")");
  check_range("pads", pads);
  std::vector<int64_t> out;
  for (size_t i = 0; i < r; ++i) out.push_back(x.size(int(i)) + pads[i] + pads[i + r]);
  check_elements("the output", out);
  std::string mode = node.has("mode") ? node.attrs.at("mode").s : "constant";
  if (mode == "edge") mode = "replicate";
  else if (mode == "wrap") mode = "circular";
  else if (mode != "constant" && mode != "reflect")
    fail("mode '", mode, "' is not supported (constant, reflect, edge, wrap)");
  std::vector<int64_t> amounts;
  for (size_t i = r; i-- > 0;) {
    amounts.push_back(pads[i]);
    amounts.push_back(pads[i + r]);
  }
  return {tapeflow::pad(x, amounts, mode, value)};
}

using Fn = Outs (*)(const OpNode&, const Ins&, int64_t);

const std::map<std::string, Fn>& ops() {
  static const std::map<std::string, Fn> t = {
      {"Conv", conv},
      {"ConvTranspose", conv_transpose},
      {"MaxPool", [](const OpNode& n, const Ins& in, int64_t) { return pool(n, in, true); }},
      {"AveragePool", [](const OpNode& n, const Ins& in, int64_t) { return pool(n, in, false); }},
      {"GlobalAveragePool", [](const OpNode& n, const Ins& in, int64_t) { return global_pool(n, in, false); }},
      {"GlobalMaxPool", [](const OpNode& n, const Ins& in, int64_t) { return global_pool(n, in, true); }},
      {"BatchNormalization", batch_norm_op},
      {"Pad", pad_op},
  };
  return t;
}

}  // namespace import_conv

bool conv_supports(const std::string& op) { return import_conv::ops().count(op) != 0; }

std::vector<Tensor> run_conv_node(const OpNode& n, const std::vector<Tensor>& in, int64_t opset) {
  return import_conv::ops().at(n.op)(n, in, opset);
}

std::vector<std::string> conv_op_names() {
  std::vector<std::string> v;
  for (const auto& [name, fn] : import_conv::ops()) v.push_back(name);
  return v;
}

}  // namespace tapeflow::onnx::detail
